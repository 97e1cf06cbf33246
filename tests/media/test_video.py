from pathlib import Path

import numpy as np
import pytest

from vcm.errors import InputError
from vcm.media import read_video, rgb_to_yuv420, windows
from vcm.media.source import parse_size


def test_reads_sample_frames_as_rgb(sample_path: Path) -> None:
    video = read_video(sample_path, start=5, max_frames=3)
    assert video.frames.shape == (3, 576, 768, 3)
    assert video.frames.dtype == np.uint8
    assert video.fps == pytest.approx(10.0)
    assert video.frames.std() > 10  # real picture content, not a blank frame


def _write_yuv(path: Path, frames: np.ndarray) -> None:
    with path.open("wb") as handle:
        for frame in frames:
            for plane in rgb_to_yuv420(frame):
                handle.write(plane.tobytes())


@pytest.mark.parametrize("size", [(64, 48), (37, 21)])
def test_raw_yuv_round_trip(tmp_path: Path, frames: np.ndarray, size: tuple[int, int]) -> None:
    width, height = size
    crop = frames[:3, :height, :width]
    path = tmp_path / "clip.yuv"
    _write_yuv(path, crop)
    video = read_video(path, size=(width, height), fps=25)
    assert video.frames.shape == crop.shape
    assert np.abs(video.frames.astype(int) - crop).mean() < 4  # 4:2:0 chroma loss only


def test_raw_yuv_needs_size_and_fps(tmp_path: Path) -> None:
    path = tmp_path / "clip.yuv"
    path.write_bytes(bytes(64 * 48 * 3 // 2))
    with pytest.raises(InputError, match="--size"):
        read_video(path)


def test_raw_yuv_truncated_is_named(tmp_path: Path) -> None:
    path = tmp_path / "clip.yuv"
    path.write_bytes(bytes(64 * 48 * 3 // 2 + 5))
    with pytest.raises(InputError, match="not a whole number"):
        read_video(path, size=(64, 48), fps=10)


def test_empty_raw_yuv_has_zero_frames(tmp_path: Path) -> None:
    path = tmp_path / "clip.yuv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="zero frames"):
        read_video(path, size=(64, 48), fps=10)


def test_start_past_the_end_has_zero_frames(sample_path: Path) -> None:
    with pytest.raises(InputError, match="zero frames"):
        read_video(sample_path, start=10_000, max_frames=1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_video(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are not the frames you are looking for\n" * 50)
    with pytest.raises(InputError, match="not a readable video"):
        read_video(path)


@pytest.mark.parametrize("text", ["768", "axb", "0x10"])
def test_bad_size_text(text: str) -> None:
    with pytest.raises(InputError):
        parse_size(text)


def test_reads_y4m(tmp_path: Path, frames: np.ndarray) -> None:
    import av

    path = tmp_path / "clip.y4m"
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in frames[:2, :48, :64]:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    video = read_video(path)
    assert video.frames.shape == (2, 48, 64, 3) and video.fps == pytest.approx(5)


def test_windows_cut_a_stream_into_bounded_chunks() -> None:
    chunks = list(windows((np.full((2, 2, 3), i, np.uint8) for i in range(10)), 4))
    assert [(start, len(chunk)) for start, chunk in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert chunks[2][1][1, 0, 0, 0] == 9
