"""Fixed-length windows of an H.264 stream as the activity models see them: motion vectors and
residual energy on a fixed block grid, the latest I-frame, optionally every decoded picture,
all small. Streamed: one window is held at a time."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vcm.cdomain.reader import DecodedFrame, decode_with_vectors
from vcm.cdomain.synthetic import FRAME_SIZE, WINDOW
from vcm.errors import InputError

FIELD_BLOCK = 8  # pixels: the block side of the motion and residual fields the networks see
MODEL_GRID = (FRAME_SIZE[1] // FIELD_BLOCK, FRAME_SIZE[0] // FIELD_BLOCK)  # (rows, cols) at FRAME_SIZE
PICTURE_SIZE = (128, 96)  # (width, height) of the pictures the I-frame and RGB networks see


@dataclass
class Window:
    """Frames first..last (inclusive) of a stream. mv: (WINDOW, 2, *MODEL_GRID) float32 pixels
    at FRAME_SIZE scale; residual: (WINDOW, *MODEL_GRID) float32 mean squared luma residual;
    intra: (h, w, 3) uint8 latest I-frame at PICTURE_SIZE; frames: (WINDOW, h, w, 3) uint8
    every decoded picture at PICTURE_SIZE, or None. A short last window is padded with zero
    motion and repeated pictures."""

    first: int
    last: int
    mv: np.ndarray
    residual: np.ndarray
    intra: np.ndarray
    frames: np.ndarray | None = None


def shrink(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> PICTURE_SIZE (h, w, 3) uint8, bilinear."""
    return np.asarray(Image.fromarray(picture).resize(PICTURE_SIZE, Image.BILINEAR))


def fit_grid(field: np.ndarray) -> np.ndarray:
    """(R, C, ...) block field -> (*MODEL_GRID, ...): block means when larger, nearest blocks when
    smaller."""
    rows, cols = MODEL_GRID
    for axis, target in ((0, rows), (1, cols)):
        size = field.shape[axis]
        if size == target:
            continue
        if size > target:
            edges = (np.arange(target) * size) // target
            counts = np.diff(np.append(edges, size)).reshape((-1, 1) if axis == 0 else (1, -1))
            counts = counts.reshape(counts.shape + (1,) * (field.ndim - 2))
            field = np.add.reduceat(field, edges, axis=axis) / counts
        else:
            field = np.take(field, (np.arange(target) * size) // target, axis=axis)
    return field.astype(np.float32)


@dataclass
class FrameGroup:
    """One window's decoded pictures (up to WINDOW), the picture before them (the reference of
    the first residual, None at the start) and the latest I-frame at or before the window's end.
    Model inputs are computed on demand, so a cascade pays only for the streams it uses."""

    first: int
    frames: list[DecodedFrame]
    previous: DecodedFrame | None
    intra: DecodedFrame

    @property
    def last(self) -> int:
        return self.first + len(self.frames) - 1

    def motion(self) -> np.ndarray:
        """(WINDOW, 2, *MODEL_GRID) float32 vectors in pixels at FRAME_SIZE width, zero-padded."""
        width = self.frames[0].size[0]
        scale = FRAME_SIZE[0] / (-(-width // FIELD_BLOCK) * FIELD_BLOCK)
        fields = [fit_grid(frame.motion(FIELD_BLOCK)).transpose(2, 0, 1) * scale for frame in self.frames]
        return _padded(fields, np.zeros_like(fields[0]))

    def residual(self) -> np.ndarray:
        """(WINDOW, *MODEL_GRID) float32 residual energy, zero-padded."""
        references = [self.previous, *self.frames[:-1]]
        fields = [fit_grid(frame.residual(reference, FIELD_BLOCK))
                  for frame, reference in zip(self.frames, references, strict=True)]
        return _padded(fields, np.zeros_like(fields[0]))

    def intra_picture(self) -> np.ndarray:
        """(h, w, 3) uint8 latest I-frame at PICTURE_SIZE."""
        return shrink(self.intra.rgb())

    def pictures(self) -> np.ndarray:
        """(WINDOW, h, w, 3) uint8 every picture at PICTURE_SIZE, the last one repeated as padding."""
        pictures = [shrink(frame.rgb()) for frame in self.frames]
        return _padded(pictures, pictures[-1])

    def window(self, with_frames: bool = False) -> Window:
        return Window(self.first, self.last, self.motion(), self.residual(), self.intra_picture(),
                      self.pictures() if with_frames else None)


def _padded(items: list[np.ndarray], filler: np.ndarray) -> np.ndarray:
    return np.stack(items + [filler] * (WINDOW - len(items)))


def group_windows(path: str | Path) -> Iterator[FrameGroup]:
    """The WINDOW-frame windows of the H.264 video at `path` in order, as decoded pictures (one
    window held at a time; a last window shorter than WINDOW / 2 is dropped)."""
    previous: DecodedFrame | None = None
    intra: DecodedFrame | None = None
    frames: list[DecodedFrame] = []
    first = 0
    for decoded in decode_with_vectors(path):
        if decoded.picture_type == "I":
            intra = decoded
        if intra is None:
            raise InputError(f"{path}: the stream starts without an I-frame")
        frames.append(decoded)
        if len(frames) == WINDOW:
            yield FrameGroup(first, frames, previous, intra)
            previous, first, frames = frames[-1], first + WINDOW, []
    if len(frames) >= WINDOW // 2 and intra is not None:
        yield FrameGroup(first, frames, previous, intra)


def read_windows(path: str | Path, *, with_frames: bool = False) -> Iterator[Window]:
    """Every window of the H.264 video at `path` with all its model inputs (see group_windows)."""
    for group in group_windows(path):
        yield group.window(with_frames)
