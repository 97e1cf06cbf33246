"""Windows of a stream as the activity networks see them."""

from pathlib import Path

import numpy as np

from vcm.cdomain.synthetic import WINDOW
from vcm.cdomain.windows import MODEL_GRID, PICTURE_SIZE, fit_grid, read_windows
from vcm.codec import encode


def test_fit_grid_averages_blocks_and_repeats_when_smaller() -> None:
    rows, cols = MODEL_GRID
    field = np.arange(4 * rows * cols, dtype=np.float32).reshape(2 * rows, 2 * cols)
    expected = field.reshape(rows, 2, cols, 2).mean(axis=(1, 3))
    assert np.allclose(fit_grid(field), expected)
    small = np.arange(rows * cols // 4, dtype=np.float32).reshape(rows // 2, cols // 2)
    assert np.array_equal(fit_grid(small), small.repeat(2, axis=0).repeat(2, axis=1))


def test_windows_cover_the_stream_and_the_short_tail_is_padded(frames: np.ndarray, tmp_path: Path) -> None:
    clip = np.concatenate([frames] * 4)[:40, :192, :256]  # 40 frames: two windows and a half
    video = tmp_path / "clip.mp4"
    encode(clip, 30, video, codec="h264", gop=WINDOW)
    windows = list(read_windows(video, with_frames=True))
    assert [(w.first, w.last) for w in windows] == [(0, 15), (16, 31), (32, 39)]
    for window in windows:
        assert window.mv.shape == (WINDOW, 2, *MODEL_GRID) and window.residual.shape == (WINDOW, *MODEL_GRID)
        assert window.intra.shape == (PICTURE_SIZE[1], PICTURE_SIZE[0], 3)
        assert window.frames is not None
        assert window.frames.shape == (WINDOW, PICTURE_SIZE[1], PICTURE_SIZE[0], 3)
    assert not windows[2].mv[8:].any()
    assert np.array_equal(windows[2].frames[8:], np.repeat(windows[2].frames[7:8], 8, axis=0))
