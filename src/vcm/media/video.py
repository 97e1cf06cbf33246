"""Short clips in memory, and RGB <-> YUV 4:2:0 conversion as the encoder sees it."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import av
import numpy as np

from vcm.media.source import FrameSource


@dataclass
class Video:
    """Decoded frames of one clip.

    frames: (N, H, W, 3) uint8 RGB. fps: frames per second.
    """

    frames: np.ndarray
    fps: float
    source: str

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def read_video(
    path: str | Path,
    *,
    start: int = 0,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> Video:
    """Read frames [start, start + max_frames) of a short clip into memory (see FrameSource,
    which streams, for anything long).

    Raw YUV (suffix .yuv/.raw, or whenever `size` is given) needs size=(W, H) and fps.
    Raises InputError for missing, unreadable or empty input.
    """
    with FrameSource(path, start=start, max_frames=max_frames, size=size, fps=fps) as source:
        frames = np.stack(list(source))
        return Video(frames=frames, fps=source.fps, source=str(path))


def planes_of(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes of a yuv420p frame as (H, W), (ceil(H/2), ceil(W/2)) x2 uint8 arrays."""
    planes = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        planes.append(rows[:, : plane.width])
    return planes[0], planes[1], planes[2]


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB -> Y, U, V planes (BT.601 limited range, as the encoder sees them)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    y, u, v = planes_of(frame.reformat(format="yuv420p"))
    return y.copy(), u.copy(), v.copy()


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma plane as coded."""
    return rgb_to_yuv420(rgb)[0]

def windows(frames: Iterable[np.ndarray], size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(index of the first frame, (n <= size, H, W, 3) frames) for consecutive windows."""
    iterator = iter(frames)
    start = 0
    while chunk := list(islice(iterator, size)):
        yield start, np.stack(chunk)
        start += len(chunk)
