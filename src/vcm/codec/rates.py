"""What a coded stream is, its size and bitrate: shared by encode, decode and pipeline results."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass
class StreamInfo:
    """A coded stream: where it is, its codec ('hevc', 'h264'), true picture size in pixels
    and frame rate (frames/s). Encode results, decoded videos and pipeline reports extend it."""

    path: str
    codec: str
    width: int
    height: int
    fps: float


def bitrate_kbps(total_bytes: int, frames: int, fps: float) -> float:
    """kbit/s of `frames` pictures of `total_bytes` bytes in all, shown at `fps` frames/s."""
    return 8 * total_bytes * fps / max(frames, 1) / 1000


class _Sized(Protocol):
    bytes: int


class CodedSize:
    """Mixin for results that hold `frames` (each with `.bytes`) and `fps`."""

    frames: Sequence[_Sized]
    fps: float

    @property
    def total_bytes(self) -> int:
        return sum(frame.bytes for frame in self.frames)

    @property
    def bitrate_kbps(self) -> float:
        return bitrate_kbps(self.total_bytes, len(self.frames), self.fps)
