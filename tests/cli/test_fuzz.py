"""Property-based tests: the CLI driven with generated arguments and corrupted inputs never
shows a traceback or leaves a partial output; it exits 0 with a complete output, or 1 with
one line naming the problem."""

import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcm.cli import main
from vcm.codec import encode
from vcm.media import rgb_to_yuv420

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KINDS = ("mp4", "hevc", "264", "y4m", "yuv")


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory, frames: np.ndarray) -> Path:
    """Small valid inputs (4 frames of 64x48) in every format the fuzzing corrupts."""
    folder = tmp_path_factory.mktemp("fuzz")
    clip = np.ascontiguousarray(frames[:4, 300:348, 300:364])
    encode(clip, 30, folder / "c.mp4", codec="hevc", fps=10)
    encode(clip, 30, folder / "c.hevc", codec="hevc", fps=10)
    encode(clip, 30, folder / "c.264", codec="h264", fps=10)
    with av.open(str(folder / "c.y4m"), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in clip:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    (folder / "c.yuv").write_bytes(b"".join(plane.tobytes() for f in clip for plane in rgb_to_yuv420(f)))
    return folder


def _corrupt(data: bytes, cut: float | None, flips: list[tuple[float, int]]) -> bytes:
    damaged = bytearray(data[: int(len(data) * cut)] if cut is not None else data)
    for position, bit in flips:
        if damaged:
            damaged[int(position * (len(damaged) - 1))] ^= 1 << bit
    return bytes(damaged)


def _check(argv: list[str], folder: Path, output: Path | None, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name for p in folder.iterdir()}
    code = main(argv)  # an exception here (a traceback for the user) fails the test
    captured = capsys.readouterr()
    assert code in (0, 1), (argv, captured.err)
    leftovers = [p.name for p in folder.iterdir() if "part" in p.name]
    assert not leftovers, (argv, leftovers)
    if code == 1:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vcm: error:"), (argv, captured.err)
        assert {p.name for p in folder.iterdir()} == before, argv  # nothing written
    elif output is not None:
        code = main(["info", str(output)])
        assert code == 0, (argv, capsys.readouterr().err)  # a complete, decodable output
        capsys.readouterr()


@FUZZ
@given(kind=st.sampled_from(KINDS), cut=st.none() | st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 7)), max_size=12),
       command=st.sampled_from(["encode", "info", "detect"]),
       size=st.sampled_from(["64x48", "64x40", "63x48"]))
def test_corrupted_inputs(originals: Path, capsys: pytest.CaptureFixture[str], kind: str,
                          cut: float | None, flips: list[tuple[float, int]], command: str, size: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / f"input.{kind}"
        source.write_bytes(_corrupt((originals / f"c.{kind}").read_bytes(), cut, flips))
        output = folder / "out.mp4" if command == "encode" else None
        argv = {"info": ["info", str(source)], "detect": ["detect", str(source)],
                "encode": ["encode", str(source), "-o", str(output), "--method", "uniform",
                           "--no-verify"]}[command]
        if kind == "yuv" and command != "info":
            argv += ["--size", size, "--fps", "10"]
        _check(argv, folder, output, capsys)


SIZES = st.sampled_from(["64x48", "768", "axb", "0x10", "64x48x2", "-5x4", " 64x48", "99999x2"])
FPS = st.sampled_from(["10", "nan", "inf", "0", "-1", "abc", "1e9", "29.97"])
SUFFIXES = st.sampled_from([".mp4", ".mkv", ".ts", ".hevc", ".264", ".xyz", "", ".MP4"])


@FUZZ
@given(qp=st.integers(-5, 60), gop=st.integers(-1, 40), codec=st.sampled_from(["hevc", "h264"]),
       suffix=SUFFIXES, frames=st.none() | st.integers(-1, 5), raw=st.booleans(), size=SIZES, fps=FPS,
       verify_every=st.integers(-1, 3), method=st.sampled_from(["uniform", "bbox", "fast"]))
def test_generated_encode_arguments(originals: Path, capsys: pytest.CaptureFixture[str],
                                    qp: int, gop: int, codec: str, suffix: str, frames: int | None,
                                    raw: bool, size: str, fps: str, verify_every: int, method: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / ("input.yuv" if raw else "input.y4m")
        source.write_bytes((originals / ("c.yuv" if raw else "c.y4m")).read_bytes())
        output = folder / f"out{suffix}"
        argv = ["encode", str(source), "-o", str(output), "--qp", str(qp), "--gop", str(gop),
                "--codec", codec, "--method", method, "--verify-every", str(verify_every)]
        if frames is not None:
            argv += ["--frames", str(frames)]
        if raw:
            argv += ["--size", size, "--fps", fps]
        _check(argv, folder, output, capsys)
