"""The pre-editor network and its model files."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.errors import InputError
from vcm.preedit.network import KEEP_MARGIN, PreEditor, load_preeditor


def test_untrained_editor_is_the_identity_on_any_size() -> None:
    frames = np.random.default_rng(0).integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    assert np.array_equal(PreEditor().edit_frames(frames), frames)


def test_edit_is_differentiable_and_stays_in_range() -> None:
    network = PreEditor()
    torch.nn.init.normal_(network.head.weight, std=0.5)
    image = torch.rand(1, 3, 32, 48, requires_grad=True)
    edited = network(image)
    edited.sum().backward()
    assert edited.shape == image.shape and edited.min() >= 0 and edited.max() <= 1
    assert image.grad is not None and torch.isfinite(image.grad).all()


def test_bad_model_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such pre-editor model"):
        load_preeditor(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a vcm pre-editor model"):
        load_preeditor(junk)


def test_kept_boxes_stay_as_they_are(frames: np.ndarray) -> None:
    network = PreEditor()
    with torch.no_grad():
        network.head.bias.copy_(torch.tensor([0.0, 4.0, 0.0, 0.0]))  # mostly the lightest blur
    frame = frames[:1, :96, :128]
    edited = network.edit_frames(frame, keep=[[(40.0, 30.0, 60.0, 50.0)]])
    kept = (slice(None), slice(30 - KEEP_MARGIN, 50 + KEEP_MARGIN), slice(40 - KEEP_MARGIN, 60 + KEEP_MARGIN))
    assert np.array_equal(edited[kept], frame[kept])
    outside = np.ones(frame.shape, dtype=bool)
    outside[kept] = False
    assert np.abs(edited.astype(int) - frame)[outside].mean() > 0.5
