"""Re-analysis of stored machine streams, in process and on a local Ray instance."""

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live_service import VCM, Service, create_token
from vcm.api.client import Client
from vcm.codec import encode
from vcm.media import Video

pytestmark = pytest.mark.system  # starts real servers


@pytest.fixture(scope="module")
def stored(clip: Video, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("reanalyse") / "data"
    camera, reader = create_token(data, "cam"), create_token(data, "ops", "reader")
    with Service(data) as running, Client(running.url, camera) as client, \
            tempfile.TemporaryDirectory() as folder:
        for seq in range(2):
            path = Path(folder) / f"{seq}.mp4"
            encode(clip.frames[seq * 6 : seq * 6 + 6], 30, path, gop=6, fps=10)
            client.put_layer("cam", seq, "machine", path.read_bytes(), start=100.0 + seq * 0.6, frames=6,
                             fps=10)
        yield running, reader


@pytest.mark.parametrize("ray", [None, "local"])
def test_reanalyse_finds_the_people_of_the_sample(stored, tmp_path: Path, ray: str | None) -> None:
    running, reader = stored
    out = tmp_path / "reanalysed.json"
    command = [*VCM, "reanalyse", "--server", running.url, "--token", reader, "--camera", "cam",
               "-o", str(out), *(["--ray", ray] if ray else [])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    segments = json.loads(out.read_text())["segments"]
    assert [s["seq"] for s in segments] == [0, 1] and [s["frames"] for s in segments] == [6, 6]
    for segment in segments:
        assert segment["counts"].get("person", 0) >= 6  # people walk through every frame of the sample
        assert segment["times"]["person"][0] == pytest.approx(segment["start"])


def test_reanalyse_stores_what_it_found_for_search(stored, tmp_path: Path) -> None:
    running, reader = stored
    command = [*VCM, "reanalyse", "--server", running.url, "--token", reader, "--camera", "cam",
               "-o", str(tmp_path / "found.json"), "--store", "night-check"]
    for _ in range(2):  # a rerun replaces what the first stored
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    found = json.loads((tmp_path / "found.json").read_text())["segments"]
    with Client(running.url, reader) as client:
        hits = client.search("person", "cam", min_score=0.5)
        assert {(hit["seq"], hit["source"]) for hit in hits} == {(0, "night-check"), (1, "night-check")}
        assert [hit["count"] for hit in hits] == [segment["counts"]["person"] for segment in found]
    bad = subprocess.run([*command[:-1], "edge"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "camera's own detections" in bad.stderr


def test_ray_tasks_raise_their_errors() -> None:
    from vcm.api.reanalyse import SegmentJob, analyse_segment
    from vcm.batch import run_batch
    from vcm.errors import InputError

    with pytest.raises(InputError, match="--server"):
        run_batch(analyse_segment, [SegmentJob("ftp://x", "t", "cam", 0, 0.0, 10.0, 1, 0.5)],
                  ray_address="local")
