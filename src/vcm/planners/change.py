"""Where a frame changed since the previous one, per 16x16 block: the cue that keeps what the
detector may miss (something moving it did not find, an object entering the frame)."""

import numpy as np

from vcm.codec.qpmap import BLOCK_SIZE, grid_shape

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma (0-255) of an (H, W, 3) uint8 frame."""
    return rgb.astype(np.float32) @ _LUMA


def changed_blocks(previous: np.ndarray, current: np.ndarray, level: float, grow: int = 1) -> np.ndarray:
    """(rows, cols) bool: the 16x16 blocks whose mean absolute luma difference between two
    (H, W) luma frames exceeds `level` (0-255), grown by `grow` blocks on every side (a
    moving object's edge reaches the next block by the next frame)."""
    height, width = current.shape
    rows, cols = grid_shape(width, height)
    pad = ((0, rows * BLOCK_SIZE - height), (0, cols * BLOCK_SIZE - width))
    def block_sums(values: np.ndarray) -> np.ndarray:
        return np.pad(values, pad).reshape(rows, BLOCK_SIZE, cols, BLOCK_SIZE).sum(axis=(1, 3))

    sums, counts = block_sums(np.abs(current - previous)), block_sums(np.ones_like(current))
    changed = sums > level * counts  # edge blocks: the mean over the pixels they cover
    padded = np.pad(changed, grow)
    grown = np.zeros_like(changed)
    for dy in range(2 * grow + 1):
        for dx in range(2 * grow + 1):
            grown |= padded[dy : dy + rows, dx : dx + cols]
    return grown
