"""HEVC post-filters: a new filter is the identity; HEVC intra coding is real and all-intra."""

from pathlib import Path

import numpy as np
import torch

from vcm.lic.postfilter import PostFilter, hevc_intra, train_postfilter
from vcm.lic.train import PhaseSettings


def test_a_new_filter_changes_nothing() -> None:
    x = torch.rand(1, 3, 32, 48)
    assert torch.equal(PostFilter()(x), x)


def test_hevc_intra_codes_every_picture_and_training_moves_the_filter(frames: np.ndarray,
                                                                       tmp_path: Path) -> None:
    pictures = frames[:3, :128, :192]
    decoded, sizes = hevc_intra(pictures, 42)
    assert len(decoded) == 3 and decoded[0].shape == (128, 192, 3)
    assert all(size > 0 for size in sizes)
    assert not np.array_equal(decoded[0], pictures[0])
    network = train_postfilter("detect", pictures, tmp_path / "f.pt",
                               PhaseSettings(steps=2, batch=2, crop=64, learning_rate=1e-2))
    assert (tmp_path / "f.pt").exists()
    x = torch.rand(1, 3, 64, 64)
    assert not torch.equal(network(x), x.clamp(0, 1))


def test_hevc_intra_keeps_the_order_of_frames_of_several_sizes(frames: np.ndarray) -> None:
    pictures = [frames[0, :128, :192], frames[1, :64, :96], frames[2, :128, :192]]
    decoded, sizes = hevc_intra(pictures, 32)
    assert [picture.shape for picture in decoded] == [picture.shape for picture in pictures]
    for original, picture in zip(pictures, decoded, strict=True):
        error = np.abs(original.astype(int) - picture).mean()
        assert error < 6, error  # each decoded picture is its own frame's, not a neighbour's
    assert sizes[1] < sizes[0]
