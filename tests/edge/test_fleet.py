"""Many cameras from one configuration file: checked settings, one process, each camera's
segments stored; a live source that drops is reconnected without gaps beyond the outage or
duplicates."""

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.live_service import VCM, Service, create_token, free_port
from vcm.edge.fleet import FleetConfig
from vcm.errors import InputError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cameras.toml"
    path.write_text(text)
    return path


def test_a_configuration_is_read_with_defaults_and_tokens_from_files(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gate.token").write_text("vcm_gate\n")
    monkeypatch.setenv("DOCK_TOKEN", "vcm_dock")
    config = FleetConfig.load(write(tmp_path, """
server = "http://127.0.0.1:8000"
spool = "sp"
[defaults]
gop = 16
classes = "person"
[cameras.gate]
source = "rtsp://10.0.0.5/s1"
token_file = "gate.token"
[cameras.dock]
source = "dock.mp4"
token_env = "DOCK_TOKEN"
classes = "truck,person"
restoration = false
privacy = "faces"
"""))
    gate, dock = config.cameras
    assert (gate.name, gate.token, gate.edge.settings.gop, gate.edge.settings.targets.classes) == (
        "gate", "vcm_gate", 16, ("person",))
    assert (dock.token, dock.edge.settings.targets.classes, dock.edge.restoration) == (
        "vcm_dock", ("truck", "person"), False)
    assert gate.edge.privacy is None and dock.edge.privacy is not None and dock.edge.privacy.cells >= 1


@pytest.mark.parametrize(("text", "message"), [
    ('server = "ftp://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"', "server"),
    ('server = "http://x"', r"no \[cameras"),
    ('server = "http://x"\n[cameras.a]\ntoken_env = "T"', "source is required"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"', "token_file or token_env"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "UNSET_VCM_TOKEN"', "not set"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_file = "none.token"', "cannot read"),
    ('server = "http://x"\n[cameras."../a"]\nsource = "a.mp4"\ntoken_env = "T"', "bad name"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\ngop = 0', "gop"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\nprivacy = "blur"',
     "privacy must be"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\nclasses = "unicorn"', "unicorn"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\nmin_score = 2', "min_score"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\ndetector = "x"', "detector"),
    ('server = "http://x"\n[cameras.a]\nsource = "a.mp4"\ntoken_env = "T"\nfps = 3', "unknown setting"),
    ("server = [", "not TOML")])
def test_bad_configurations_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                         message: str) -> None:
    monkeypatch.setenv("T", "vcm_t")
    monkeypatch.delenv("UNSET_VCM_TOKEN", raising=False)
    with pytest.raises(InputError, match=message):
        FleetConfig.load(write(tmp_path, text))


def stored(url: str, reader: str, camera: str) -> list[dict]:
    return httpx.get(f"{url}/api/cameras/{camera}/segments", headers={"Authorization": f"Bearer {reader}"},
                     timeout=60).json()


@pytest.mark.system
def test_two_cameras_from_one_file_in_one_process(tmp_path: Path, sample_path: Path) -> None:
    data = tmp_path / "data"
    reader = create_token(data, "ops", "reader")
    for name in ("north", "south"):
        (tmp_path / f"{name}.token").write_text(create_token(data, name))
    with Service(data) as service:
        config = write(tmp_path, f"""
server = "{service.url}"
spool = "{tmp_path / 'spool'}"
[defaults]
restoration = false
frames = 64
[cameras.north]
source = "{sample_path}"
token_file = "north.token"
[cameras.south]
source = "{sample_path}"
token_file = "south.token"
gop = 16
""")
        run = subprocess.run([*VCM, "edge", "--config", str(config)], capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        assert [s["seq"] for s in stored(service.url, reader, "north")] == [0, 1]
        assert [s["seq"] for s in stored(service.url, reader, "south")] == [0, 1, 2, 3]
        (tmp_path / "south.token").write_text("vcm_revoked")
        refused = subprocess.run([*VCM, "edge", "--config", str(config)], capture_output=True, text=True,
                                 timeout=600)
        assert refused.returncode == 1 and "camera south" in refused.stderr and "token" in refused.stderr


def serve_live(source: Path, port: int) -> subprocess.Popen:
    """An endless 10 fps MPEG-TS stream on http://127.0.0.1:port/live.ts (Debian's ffmpeg)."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                             "-i", str(source), "-vf", "scale=320:240", "-c:v", "mpeg2video", "-q:v", "4",
                             "-f", "mpegts", "-listen", "1", f"http://127.0.0.1:{port}/live.ts"],
                            stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.system
@pytest.mark.slow
def test_a_dropped_live_source_is_reconnected_without_duplicates(tmp_path: Path, sample_path: Path) -> None:
    data = tmp_path / "data"
    reader = create_token(data, "ops", "reader")
    ports = {name: free_port() for name in ("steady", "flaky")}
    for name in ports:
        (tmp_path / f"{name}.token").write_text(create_token(data, name))
    servers = {name: serve_live(sample_path, port) for name, port in ports.items()}
    with Service(data) as service:
        cameras = "".join(f'[cameras.{name}]\nsource = "http://127.0.0.1:{port}/live.ts"\n'
                          f'token_file = "{name}.token"\n' for name, port in ports.items())
        config = write(tmp_path, f'server = "{service.url}"\nspool = "{tmp_path / "spool"}"\n'
                                 f"[defaults]\nrestoration = false\ngop = 20\n{cameras}")
        fleet = subprocess.Popen([*VCM, "edge", "--config", str(config)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while len(stored(service.url, reader, "flaky")) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
            os.killpg(servers["flaky"].pid, signal.SIGKILL)  # the camera drops off the network
            servers["flaky"].wait()
            outage_started = time.time()
            time.sleep(5)
            servers["flaky"] = serve_live(sample_path, ports["flaky"])
            outage = time.time() - outage_started
            before = len(stored(service.url, reader, "flaky"))
            while len(stored(service.url, reader, "flaky")) < before + 3 and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            fleet.send_signal(signal.SIGTERM)
            output, _ = fleet.communicate(timeout=120)
            for server in servers.values():
                os.killpg(server.pid, signal.SIGKILL)
        assert fleet.returncode == 0, output
        assert "reconnecting" in output, output
        for name in ports:
            segments = stored(service.url, reader, name)
            seqs = [s["seq"] for s in segments]
            assert seqs == list(range(len(seqs))) and len(seqs) >= 3, (name, seqs)  # no duplicate, no hole
            gaps = [b["start"] - a["end"] for a, b in itertools.pairwise(segments)]
            assert max(gaps) < (outage + 20 if name == "flaky" else 5), (name, gaps)
