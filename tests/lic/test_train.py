"""Training phases on real frames: checkpoints, resuming, and what each phase may change."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.errors import InputError
from vcm.lic.train import PhaseSettings, Trainable, read_checkpoint, train_phase

TINY = PhaseSettings(steps=2, batch=1, crop=64, checkpoint_every=1)


@pytest.fixture(scope="module")
def crops(frames: np.ndarray) -> np.ndarray:
    return frames[:2, :128, :192]


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in module.state_dict().items()}


def test_finetune_phase_checkpoints_and_resumes(crops: np.ndarray, tmp_path: Path) -> None:
    model = Trainable.new()
    before = _weights(model.codec)
    history = train_phase(model, "finetune-classify", crops, tmp_path / "base.pt", TINY)
    assert [entry["step"] for entry in history] == [1, 2]
    assert {"human", "classify"} <= set(history[0])  # the adapters' objective for that task
    assert all(np.isfinite(entry["total"]) for entry in history)
    assert any(not torch.equal(before[name], value) for name, value in model.codec.state_dict().items())
    longer = PhaseSettings(**{**TINY.__dict__, "steps": 3})
    with pytest.raises(InputError, match="other settings"):
        train_phase(Trainable.new(), "finetune-classify", crops, tmp_path / "base.pt", longer)
    resumed = Trainable.new()
    again = train_phase(resumed, "finetune-classify", crops, tmp_path / "base.pt", TINY)
    assert again == history  # already finished: nothing more to do, the saved model is loaded
    for name, value in model.codec.state_dict().items():
        assert torch.equal(resumed.codec.state_dict()[name], value)


def test_adapter_phase_leaves_the_base_frozen(crops: np.ndarray, tmp_path: Path) -> None:
    model = Trainable.new()
    base = _weights(model.codec)
    adapters = _weights(model.decoder_adapters)
    train_phase(model, "adapters", crops, tmp_path / "adapters.pt", TINY)
    for name, value in model.codec.state_dict().items():
        assert torch.equal(base[name], value), name
    changed = model.decoder_adapters.state_dict()
    assert any(not torch.equal(adapters[name], value) for name, value in changed.items())
    assert read_checkpoint(tmp_path / "adapters.pt")["phase"] == "adapters"


def test_not_a_checkpoint_is_refused(crops: np.ndarray, tmp_path: Path) -> None:
    junk = tmp_path / "base.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a vcm lic checkpoint"):
        train_phase(Trainable.new(), "adapters", crops, junk, TINY)
    with pytest.raises(InputError, match="unknown phase"):  # the base is the base run's, not a phase
        train_phase(Trainable.new(), "base", crops, tmp_path / "x.pt", TINY)
