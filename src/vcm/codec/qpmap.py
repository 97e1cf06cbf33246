"""QP maps: a base QP per frame plus an integer QP per 16x16 block."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcm.errors import InputError

BLOCK_SIZE = 16
QP_MIN = 0
QP_MAX = 51


def grid_shape(width: int, height: int) -> tuple[int, int]:
    """Block grid (rows, cols) = (ceil(H/16), ceil(W/16)) for a frame of width x height pixels."""
    return -(-height // BLOCK_SIZE), -(-width // BLOCK_SIZE)


def block_span(box: tuple[float, float, float, float], grow: float, rows: int,
               cols: int) -> tuple[slice, slice]:
    """(row slice, column slice) of the 16x16 blocks that a pixel box (x1, y1, x2, y2),
    grown by `grow` pixels on every side, touches in a (rows, cols) grid."""
    x1, y1, x2, y2 = box
    row0, col0 = max(int((y1 - grow) // BLOCK_SIZE), 0), max(int((x1 - grow) // BLOCK_SIZE), 0)
    row1 = min(int(np.ceil((y2 + grow) / BLOCK_SIZE)), rows)
    col1 = min(int(np.ceil((x2 + grow) / BLOCK_SIZE)), cols)
    return slice(row0, max(row1, row0)), slice(col0, max(col1, col0))


def _check_qp_range(values: np.ndarray, what: str) -> None:
    if values.size and (values.min() < QP_MIN or values.max() > QP_MAX):
        raise InputError(
            f"{what} has QPs in [{values.min()}, {values.max()}], outside {QP_MIN}..{QP_MAX}"
        )


@dataclass(frozen=True)
class QPMap:
    """The QP plan of one frame.

    base: the frame QP, used for every block when `blocks` is None.
    blocks: (rows, cols) int QPs, one per 16x16 block, or None for a uniform frame.
    """

    base: int
    blocks: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not QP_MIN <= int(self.base) <= QP_MAX:
            raise InputError(f"base QP {self.base} is outside {QP_MIN}..{QP_MAX}")
        if self.blocks is not None:
            blocks = np.asarray(self.blocks)
            if blocks.ndim != 2:
                raise InputError(f"a block QP map must be 2-D (rows, cols), got shape {blocks.shape}")
            if not np.issubdtype(blocks.dtype, np.integer) and not (
                np.all(np.isfinite(blocks)) and np.all(blocks == np.round(blocks))
            ):
                raise InputError("block QPs must be integers")
            _check_qp_range(blocks, "block QP map")
            object.__setattr__(self, "blocks", blocks.astype(np.int16))

    @classmethod
    def from_blocks(cls, blocks: np.ndarray) -> "QPMap":
        """A map whose base is the most frequent block QP."""
        values, counts = np.unique(np.asarray(blocks), return_counts=True)
        return cls(base=int(values[np.argmax(counts)]), blocks=blocks)

    def dense(self, rows: int, cols: int) -> np.ndarray:
        """(rows, cols) int16 QPs, checking the shape of an explicit map."""
        if self.blocks is None:
            return np.full((rows, cols), self.base, dtype=np.int16)
        if self.blocks.shape != (rows, cols):
            raise InputError(
                f"QP map shape {self.blocks.shape} does not match the frame's 16x16 block grid "
                f"({rows}, {cols})"
            )
        return self.blocks

    def mean_qp(self) -> float:
        return float(self.base if self.blocks is None else self.blocks.mean())


class QPMapArray:
    """A user's QP plan as an integer array: (rows, cols) for every frame, or (frames, rows,
    cols) one per frame, with rows, cols = grid_shape(width, height); checked on creation.
    `plan[i]` is frame i's QPMap (InputError past the last frame of a per-frame array)."""

    def __init__(self, array: np.ndarray, width: int, height: int) -> None:
        array = np.asarray(array)
        rows, cols = grid_shape(width, height)
        if array.ndim not in (2, 3) or array.shape[-2:] != (rows, cols) or not array.size:
            raise InputError(
                f"QP map shape {array.shape} does not fit {width}x{height} frames: expected "
                f"({rows}, {cols}) or (frames, {rows}, {cols})"
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise InputError(f"the QP map holds {array.dtype} values; QPs must be integers")
        _check_qp_range(array, "the QP map")
        self.array = array.astype(np.int16)
        self.frames = len(array) if array.ndim == 3 else None
        self._single = QPMap.from_blocks(self.array) if self.frames is None else None

    @classmethod
    def load(cls, path: str | Path, width: int, height: int) -> "QPMapArray":
        """A user's .npy file of integer QPs, (rows, cols) or (frames, rows, cols), checked."""
        try:
            array = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"no such QP map file: {path}") from None
        except (OSError, ValueError, EOFError):
            raise InputError(f"{path} is not a .npy QP map (a NumPy array file of integer QPs)") from None
        if not isinstance(array, np.ndarray):
            raise InputError(f"{path} is an .npz archive, not a .npy QP map array")
        return cls(array, width, height)

    def __getitem__(self, index: int) -> QPMap:
        if self._single is not None:
            return self._single
        if index >= len(self.array):
            raise InputError(f"the QP map has {len(self.array)} frames but the video has more")
        return QPMap.from_blocks(self.array[index])

    def blocks(self, index: int) -> np.ndarray:
        """(rows, cols) QPs of frame `index`."""
        return self.array if self._single is not None else self.array[index]
