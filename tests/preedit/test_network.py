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


def test_qp_aware_editor_edits_by_the_map(frames: np.ndarray) -> None:
    network = PreEditor(qp_aware=True)
    assert network.config()["qp_aware"] is True
    assert network.qp_slope is not None
    with torch.no_grad():
        network.qp_slope.copy_(torch.tensor([0.0, 4.0, 0.0, 0.0]))  # the lightest blur rises with the QP
    frame = frames[:1, :96, :128]
    qp = np.full((6, 8), 22)  # (QP 22 - 32) / 8: logit of the blur 8 - 5 below keep's
    qp[:, 4:] = 51  # right half: (51 - 32) / 8 * 4 = +9.5, above keep's 8
    edited = network.edit_frames(frame, qp_maps=[qp]).astype(int)
    change = np.abs(edited - frame)
    assert change[:, :, :56].max() == 0  # low QP, 8 px from the boundary: untouched
    assert change[:, :, 72:].mean() > 0.5  # high QP: blurred
    with pytest.raises(ValueError, match="QP-aware"):
        network.edit_frames(frame)


def test_qp_aware_model_files_keep_their_kind(tmp_path: Path) -> None:
    network = PreEditor(qp_aware=True)
    path = tmp_path / "aware.pt"
    torch.save({"config": network.config(), "weights": network.state_dict()}, path)
    assert load_preeditor(path).qp_aware


def test_residual_editor_starts_as_the_identity_and_its_correction_stays_bounded(frames: np.ndarray) -> None:
    network = PreEditor(residual=8 / 255)
    frame = frames[:1, :96, :128]
    assert np.array_equal(network.edit_frames(frame), frame)
    assert network.correction is not None
    with torch.no_grad():
        torch.nn.init.normal_(network.correction.weight, std=50.0)  # a saturated correction
    change = np.abs(network.edit_frames(frame).astype(int) - frame)
    assert change.max() <= 8  # 8/255 rounds to at most 8 levels
    assert change.mean() > 2  # and it does move pixels, both ways where not clipped
    grey = np.repeat(frame[..., :1], 3, axis=-1)
    edited = network.edit_frames(grey)
    assert (edited != grey).any() and (edited == edited[..., :1]).all()  # brightness, never colour
    image = torch.rand(1, 3, 32, 48, requires_grad=True)
    network(image).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()


def test_residual_and_width_survive_a_model_file(tmp_path: Path) -> None:
    network = PreEditor(width=16, residual=0.05)
    path = tmp_path / "residual.pt"
    torch.save({"config": network.config(), "weights": network.state_dict()}, path)
    loaded = load_preeditor(path)
    assert loaded.residual == 0.05 and loaded.width == 16 and loaded.correction is not None
    with pytest.raises(ValueError, match="residual bound"):
        PreEditor(residual=1.5)


@pytest.mark.parametrize("shape", [{"width": 32}, {"width": 16, "qp_aware": True, "residual": 16 / 255}])
def test_the_fast_inference_path_makes_the_same_edit_as_training(frames: np.ndarray, shape: dict) -> None:
    """edit_frames (OpenCV at full resolution) against forward (PyTorch, what training
    differentiates), on frames of odd sizes: within one level of rounding."""
    torch.manual_seed(0)
    network = PreEditor(**shape)
    with torch.no_grad():
        torch.nn.init.normal_(network.head.weight, std=0.3)
        network.head.bias.copy_(torch.tensor([1.0, 0.5, 0.0, -0.5]))  # every smoothing in use
        if network.correction is not None:
            torch.nn.init.normal_(network.correction.weight, std=0.5)
    clip = np.ascontiguousarray(frames[:2, :77, :101])
    qp = np.random.default_rng(0).integers(22, 52, (2, 5, 7)) if network.qp_aware else None
    fast = network.edit_frames(clip, qp_maps=qp).astype(int)
    with torch.no_grad():
        image = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255.0
        slow = network(image, None if qp is None else torch.from_numpy(qp)).permute(0, 2, 3, 1) * 255.0
    assert np.abs(fast - slow.round().numpy()).max() <= 1
    assert np.abs(fast - clip).mean() > 1.0  # the edit is not the identity
