"""The learned planner: `vcm distil` trains it on real xai maps; it plans in one pass."""

import json
from pathlib import Path

import numpy as np
import pytest

from vcm.cli import main
from vcm.codec import encode
from vcm.models import YoloV3Tiny
from vcm.planners import LearnedConfig, PlanSettings, plan_clip
from vcm.tasks.targets import TargetSpec, select_targets

CROP = (slice(160, 448), slice(192, 576))  # 384x288 of the sample where people walk


@pytest.fixture(scope="module")
def small_clip(frames: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("distil") / "small.mkv"
    encode(np.ascontiguousarray(frames[:8, CROP[0], CROP[1]]), 22, path, codec="h264")
    return path


def _boxes_kept(frames: np.ndarray, plans: list, targets: list) -> bool:
    for frame, plan, frame_targets in zip(frames, plans, targets, strict=True):
        for target in frame_targets:
            x1, y1, x2, y2 = (int(v) for v in target.box)
            if not np.array_equal(plan.rgb[y1:y2, x1:x2], frame[y1:y2, x1:x2]):
                return False
    return True


@pytest.mark.slow
def test_distil_trains_a_model_the_planner_uses(small_clip: Path, frames: np.ndarray, detector: YoloV3Tiny,
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "planner.pt"
    code = main(["distil", str(small_clip), "--out", str(out), "--segment", "4", "--train", "0:1",
                 "--val", "1:2", "--epochs", "3", "--seeds", "0,1", "--detector", "yolov3-tiny"])
    assert code == 0, capsys.readouterr().err
    log = json.loads(out.with_suffix(".json").read_text())
    assert log["frames"] == {"train": 4, "val": 4} and len(log["runs"]) == 2
    losses = {run["seed"]: run["best_val_loss"] for run in log["runs"]}
    assert losses[log["chosen_seed"]] == min(losses.values())
    assert sorted(p.name for p in (tmp_path / "planner-teacher").iterdir()) == ["segment_000.npz",
                                                                               "segment_001.npz"]
    clip = np.ascontiguousarray(frames[:4, CROP[0], CROP[1]])
    targets = select_targets(detector.detect(clip), TargetSpec())
    plans = plan_clip("learned", clip, detector, PlanSettings(), targets, LearnedConfig(model=str(out)))
    assert _boxes_kept(clip[::2], plans[::2], targets[::2])  # frames where it ran the detector
    for plan in plans:
        blocks = plan.qp_map.dense(18, 24)
        assert blocks.min() >= 10 and blocks.max() <= 51  # the search planners' QP floor; HEVC's top


def test_distil_refuses_overlapping_splits(small_clip: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["distil", str(small_clip), "--out", str(tmp_path / "m.pt"), "--train", "0:4",
                 "--val", "3:5"])
    assert code != 0 and "overlap" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_shipped_model_keeps_targets_and_paints_the_rest(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    targets = select_targets(detector.detect(frames[:2]), TargetSpec())
    plans = plan_clip("learned", frames[:2], detector, PlanSettings(), targets)
    assert _boxes_kept(frames[:1], plans[:1], targets[:1])
    blocks = plans[0].qp_map.dense(36, 48)
    painted = (plans[0].rgb == 0).all(axis=2)
    assert painted.mean() > 0.1 and blocks.min() < 51
    empty = plan_clip("learned", np.zeros_like(frames[:1]), detector, PlanSettings())
    assert empty[0].qp_map.dense(36, 48).min() == 51
