"""Synthetic action clips: the figure's motion read back from the real H.264 stream matches the
action it was told to perform."""

from pathlib import Path

import numpy as np
import pytest

from vcm.cdomain.synthetic import (
    ACTIONS,
    WINDOW,
    action_poses,
    random_figure,
    render_recording,
    texture_background,
)
from vcm.cdomain.windows import read_windows
from vcm.codec import encode


def _window_motion(actions: list[str], tmp_path: Path, seed: int = 3) -> list[np.ndarray]:
    """Per window, the (WINDOW, 2, 24, 32) vectors of the coded recording."""
    rng = np.random.default_rng(seed)
    frames = render_recording(actions, texture_background(rng, WINDOW * len(actions)), rng)
    video = tmp_path / "recording.mp4"
    encode(frames, 24, video, codec="h264", gop=WINDOW, fps=10)
    return [window.mv for window in read_windows(video)]


def test_walkers_move_the_way_they_are_labelled(tmp_path: Path) -> None:
    left, right, still = _window_motion(["walk_left", "walk_right", "stand"], tmp_path)
    # source - destination: content moving right came from the left, so its x vectors are negative
    assert left[:, 0].sum() > 0 > right[:, 0].sum()
    assert np.abs(still).sum() < 0.2 * min(np.abs(left).sum(), np.abs(right).sum())


def test_a_jump_moves_up_and_down_more_than_sideways(tmp_path: Path) -> None:
    (jump,) = _window_motion(["jump"], tmp_path)
    assert np.abs(jump[:, 1]).sum() > 2 * np.abs(jump[:, 0]).sum()


def test_recordings_have_the_frame_size_and_differ_by_seed() -> None:
    first, second = (render_recording(["wave"], texture_background(np.random.default_rng(s), WINDOW),
                                      np.random.default_rng(s)) for s in (1, 2))
    assert first.shape == (WINDOW, 192, 256, 3) and first.dtype == np.uint8
    assert np.abs(first.astype(int) - second).mean() > 5


def test_every_action_has_poses_and_an_unknown_one_is_refused() -> None:
    rng = np.random.default_rng(0)
    figure = random_figure(rng)
    for action in ACTIONS:
        assert len(action_poses(action, rng, figure, 180.0, 128.0)) == WINDOW
    with pytest.raises(ValueError, match="unknown action"):
        action_poses("dance", rng, figure, 180.0, 128.0)
