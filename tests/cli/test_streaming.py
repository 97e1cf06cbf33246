"""`vcm encode` on live inputs, as separate processes: standard input, a named pipe, an HTTP
stream served by Debian's ffmpeg on loopback; stopping with signals; killed runs."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from vcm.codec import decode

VCM = [sys.executable, "-m", "vcm.cli"]
UNIFORM = ["--method", "uniform", "--no-verify"]


@pytest.fixture(scope="module")
def y4m(tmp_path_factory: pytest.TempPathFactory, frames: np.ndarray) -> Path:
    """12 frames of 192x144 (a crop of the sample) as Y4M, a format pipes carry."""
    path = tmp_path_factory.mktemp("live") / "clip.y4m"
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = 192, 144, "yuv420p"
        for frame in np.ascontiguousarray(frames[:, 200:344, 300:492]):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _ffprobe_frames(path: Path) -> int:
    """Frames Debian's ffmpeg (an independent decoder) decodes from `path`, erroring on damage."""
    result = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stderr == ""
    return int(result.stdout.strip())


def test_standard_input(tmp_path: Path, y4m: Path) -> None:
    out = tmp_path / "out.mp4"
    with y4m.open("rb") as handle:
        result = subprocess.run([*VCM, "encode", "-", "-o", str(out), *UNIFORM], stdin=handle,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(decode(out).frames) == 12 and _ffprobe_frames(out) == 12


def test_named_pipe(tmp_path: Path, y4m: Path) -> None:
    fifo, out = tmp_path / "camera.fifo", tmp_path / "out.mkv"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(y4m.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    result = subprocess.run([*VCM, "encode", str(fifo), "-o", str(out), *UNIFORM], capture_output=True,
                            text=True, timeout=120)
    writer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert _ffprobe_frames(out) == 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (read from /proc, without connecting)."""
    wanted = f"0100007F:{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if Path(table).exists():
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":
                    return True
    return False


@pytest.fixture
def live_url(y4m: Path, tmp_path: Path) -> Iterator[str]:
    """An endless 10 fps MPEG-TS stream served over HTTP on loopback by Debian's ffmpeg."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/live.ts"
    server = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                               "-i", str(y4m), "-c:v", "mpeg2video", "-q:v", "4", "-f", "mpegts",
                               "-listen", "1", url], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, "ffmpeg did not start serving"
            time.sleep(0.1)
        yield url
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.slow
def test_live_url_stops_on_a_signal_with_a_playable_file(tmp_path: Path, live_url: str,
                                                         stop: signal.Signals) -> None:
    out = tmp_path / "live.mp4"
    run = subprocess.Popen([*VCM, "encode", live_url, "-o", str(out), *UNIFORM], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # model loading, connecting, then some seconds of stream
    assert run.poll() is None, run.communicate()[1]
    run.send_signal(stop)
    _, errors = run.communicate(timeout=60)
    assert run.returncode == 0, errors
    assert "stopped by signal" in errors
    frames = _ffprobe_frames(out)
    assert frames >= 5
    assert len(decode(out).frames) == frames
    assert not list(tmp_path.glob(".*part*"))


def test_a_killed_run_leaves_no_partial_file_after_the_next(tmp_path: Path, sample_path: Path) -> None:
    out = tmp_path / "out.mp4"
    run = subprocess.Popen([*VCM, "encode", str(sample_path), "-o", str(out), *UNIFORM],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.mp4.*.part.mp4")):
        assert run.poll() is None and time.monotonic() < deadline, "no partial output appeared"
        time.sleep(0.05)
    run.kill()
    run.wait(timeout=10)
    assert list(tmp_path.glob(".out.mp4.*.part.mp4")) and not out.exists()
    result = subprocess.run([*VCM, "encode", str(sample_path), "-o", str(out), "--frames", "2", *UNIFORM],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
