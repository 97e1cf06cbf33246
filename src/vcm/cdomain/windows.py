"""Fixed-length windows of an H.264 stream as the activity models see them: motion vectors and
residual energy on a fixed block grid, the latest I-frame, optionally every decoded picture,
all small. Streamed: one window is held at a time."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vcm.cdomain.reader import RgbPictures, read_compressed
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


def read_windows(path: str | Path, *, with_frames: bool = False) -> Iterator[Window]:
    """The WINDOW-frame windows of the H.264 video at `path` in order (a last window shorter
    than WINDOW / 2 is dropped). Vectors are rescaled to FRAME_SIZE width."""
    intra: np.ndarray | None = None
    rgb: RgbPictures = "all" if with_frames else "intra"
    mvs: list[np.ndarray] = []
    residuals: list[np.ndarray] = []
    pictures: list[np.ndarray] = []
    first = 0
    scale = 1.0
    for frame in read_compressed(path, rgb=rgb, block=FIELD_BLOCK):
        if frame.index == 0:
            scale = FRAME_SIZE[0] / (frame.mv.shape[1] * FIELD_BLOCK)
        if frame.rgb is not None:
            small = shrink(frame.rgb)
            if frame.picture_type == "I":
                intra = small
            if with_frames:
                pictures.append(small)
        mvs.append(fit_grid(frame.mv).transpose(2, 0, 1) * scale)
        residuals.append(fit_grid(frame.residual_energy))
        if len(mvs) == WINDOW:
            yield _window(first, mvs, residuals, intra, pictures if with_frames else None)
            first += WINDOW
            mvs, residuals, pictures = [], [], []
    if len(mvs) >= WINDOW // 2:
        yield _window(first, mvs, residuals, intra, pictures if with_frames else None)


def _window(first: int, mvs: list[np.ndarray], residuals: list[np.ndarray], intra: np.ndarray | None,
            pictures: list[np.ndarray] | None) -> Window:
    count = len(mvs)
    if intra is None:
        raise InputError("the stream starts without an I-frame")
    missing = WINDOW - count
    mv = np.stack(mvs + [np.zeros_like(mvs[0])] * missing)
    residual = np.stack(residuals + [np.zeros_like(residuals[0])] * missing)
    frames = np.stack(pictures + [pictures[-1]] * missing) if pictures else None
    return Window(first, first + count - 1, mv, residual, intra, frames)
