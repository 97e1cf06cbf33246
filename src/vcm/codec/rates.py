"""Size and bitrate of a coded clip, shared by encode, decode and pipeline results."""

from collections.abc import Sequence
from typing import Protocol


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
        """8 * bytes * fps / frames / 1000."""
        return 8 * self.total_bytes * self.fps / max(len(self.frames), 1) / 1000
