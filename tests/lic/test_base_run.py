"""The base codec's run, continued from the committed file on real frames with real coding."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.errors import InputError
from vcm.lic.base_run import RUN_FILE, clip_frames, continue_run, evenly, load_run, run_model
from vcm.lic.coding import SHIPPED_MODEL
from vcm.lic.train import Trainable, read_checkpoint


def test_the_committed_run_records_its_curves() -> None:
    state = load_run()
    assert state["step"] >= 9000 and state["megapixels"] > 1000
    steps = [entry["step"] for entry in state["history"]]
    assert steps == sorted(steps)
    assert state["validation"], "the run holds at least the point it started from"
    for point in state["validation"]:
        rates = [rate for rate, _ in point["points"]]
        assert rates == sorted(rates) and len(rates) == run_model(state).codec.shape.qualities


def test_the_shipped_model_holds_the_runs_codec_frozen() -> None:
    shipped = torch.load(SHIPPED_MODEL, map_location="cpu", weights_only=True)["model"]
    run = load_run()["model"]
    assert shipped["shape"] == run["shape"]
    assert shipped["codec"].keys() == run["codec"].keys()
    for name, tensor in run["codec"].items():
        assert torch.equal(shipped["codec"][name], tensor), name


def test_continuing_trains_saves_and_measures(tmp_path: Path) -> None:
    run = tmp_path / "run.pt"
    shutil.copyfile(RUN_FILE, run)
    before = load_run(run)
    lines: list[str] = []
    after = continue_run(0.03, run, log=lines.append, learning_rate=1e-5)
    saved = load_run(run)
    assert saved["step"] == after["step"] > before["step"]
    assert saved["megapixels"] > before["megapixels"]
    assert saved["sessions"][-1]["from_step"] == before["step"]
    assert saved["sessions"][-1]["to_step"] == saved["step"]
    assert saved["sessions"][-1]["learning_rate"] == 1e-5
    assert saved["validation"][-1]["step"] == saved["step"]
    assert np.isfinite(saved["history"][-1]["total"])
    assert any("validation BD-rate" in line for line in lines)
    old, new = run_model(before).codec.state_dict(), run_model(saved).codec.state_dict()
    assert any(not torch.equal(old[name], new[name]) for name in old)


def test_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    other = tmp_path / "adapters.pt"
    torch.save({"phase": "adapters", "model": Trainable.new().state(), "step": 1}, other)
    assert read_checkpoint(other)["phase"] == "adapters"
    with pytest.raises(InputError, match="not a base-codec run"):
        load_run(other)
    with pytest.raises(InputError, match="minutes must be above 0"):
        continue_run(0.0, RUN_FILE)
    with pytest.raises(InputError, match="minutes must be above 0"):
        continue_run(float("nan"), RUN_FILE)
    with pytest.raises(InputError, match="learning-rate must be"):
        continue_run(1.0, RUN_FILE, learning_rate=float("nan"))


def test_evenly_spreads_over_the_whole_clip() -> None:
    assert evenly(4, 10) == [0, 3, 6, 9]
    assert evenly(20, 10) == list(range(10))


def test_clip_frames_are_the_clips_own_spread_frames() -> None:
    from vcm.media import FrameSource
    from vcm.media.clips import clip_path

    picked = clip_frames("face-webcam", 3)
    with FrameSource(clip_path("face-webcam")) as source:
        every = list(source)  # 72 frames: small enough to hold
    assert len(picked) == 3
    assert np.array_equal(picked[0], every[0]) and np.array_equal(picked[-1], every[-1])
