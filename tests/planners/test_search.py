"""The search planners on real frames, judged by the real codec and the real detector."""

import numpy as np
import pytest

from vcm.codec import decode, encode
from vcm.codec.roundtrip import RoundTrip
from vcm.models import YoloV3Tiny
from vcm.planners import PlanSettings, XaiConfig, plan_clip
from vcm.planners.xai import importance_offsets, paint_outside
from vcm.targets import TargetSpec, select_targets, survives

SETTINGS = PlanSettings(codec="hevc")


def _lost_targets(frame: np.ndarray, blocks: np.ndarray, targets: list, detector: YoloV3Tiny) -> int:
    decoded = RoundTrip(frame.shape[1], frame.shape[0], "hevc").run(frame, blocks)
    found = detector.detect(decoded[None])[0]
    return sum(not survives(t, found, TargetSpec()) for t in targets)


@pytest.fixture(scope="module")
def targets(frames: np.ndarray, detector: YoloV3Tiny) -> list:
    return select_targets(detector.detect(frames[:2]), TargetSpec())


@pytest.mark.parametrize("check", ["p-frame", "intra"])
def test_xai_stream_keeps_every_target(frames: np.ndarray, detector: YoloV3Tiny, targets: list, tmp_path,
                                       check: str) -> None:
    assert targets[0] and targets[1], "the sample's first frames have confident detections"
    settings = PlanSettings(codec="hevc", check=check)
    plans = plan_clip("xai", frames[:2], detector, settings, targets, XaiConfig(rounds=2))
    stream = decode(encode([p.rgb for p in plans], [p.qp_map for p in plans], tmp_path / "x.mkv").path).rgb
    for decoded, frame_targets in zip(stream, targets, strict=True):
        found = detector.detect(decoded[None])[0]
        assert all(survives(t, found, TargetSpec()) for t in frame_targets)
    blocks = plans[1].qp_map.blocks
    assert blocks.max() == 51 and blocks.min() < 51  # targets' regions finer than the rest
    for target in targets[1]:  # boxes kept as they are, the rest partly painted black
        x1, y1, x2, y2 = (int(v) for v in target.box)
        assert np.array_equal(plans[1].rgb[y1:y2, x1:x2], frames[1, y1:y2, x1:x2])
    assert (plans[1].rgb == 0).all(axis=2).mean() > 0.05
    assert 2 <= plans[1].checks <= 8 and plans[1].recodes <= XaiConfig().retries


def test_importance_offsets_follow_the_importance() -> None:
    importance = np.array([[0.0, 5.0, 1.0], [3.0, 0.5, 9.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    offset = importance_offsets(importance, mask, spread=10)
    assert offset[0, 1] == 0 and offset[1, 2] == 0  # the most important block; outside the mask
    ranked = sorted(((importance[i], offset[i]) for i in zip(*np.nonzero(mask), strict=True)), reverse=True)
    assert [o for _, o in ranked] == sorted(o for _, o in ranked) and max(o for _, o in ranked) <= 10


def test_paint_outside_keeps_whole_blocks(frames: np.ndarray) -> None:
    keep = np.zeros((36, 48), dtype=bool)
    keep[2, 3] = True
    painted = paint_outside(frames[0], keep)
    assert np.array_equal(painted[32:48, 48:64], frames[0, 32:48, 48:64])
    assert painted[:32].max() == 0 and painted[48:].max() == 0


def test_frames_without_targets_get_the_maximum_qp(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    [plan] = plan_clip("xai", frames[:1], detector, PlanSettings(max_qp=47), [[]])
    assert plan.qp_map.dense(36, 48).min() == 47 and plan.detector_calls == 0 and plan.rgb.max() == 0
    [plan] = plan_clip("frame-qp", frames[:1], detector, PlanSettings(max_qp=47), [[]])
    assert plan.qp_map.base == 47


def test_frame_qp_is_the_largest_detectable(frames: np.ndarray, detector: YoloV3Tiny, targets: list) -> None:
    [plan] = plan_clip("frame-qp", frames[1:2], detector, SETTINGS, targets[1:2])
    qp = plan.qp_map.base
    rows, cols = -(-576 // 16), -(-768 // 16)
    assert _lost_targets(frames[1], np.full((rows, cols), qp), targets[1], detector) == 0
    if qp < 51:
        assert _lost_targets(frames[1], np.full((rows, cols), qp + 1), targets[1], detector) > 0


def test_p_frame_check_keeps_targets_in_the_predicted_frame(frames: np.ndarray, detector: YoloV3Tiny,
                                                             targets: list) -> None:
    settings = PlanSettings(codec="hevc", check="p-frame")
    plan = plan_clip("frame-qp", frames[:2], detector, settings, targets[:2])
    roundtrip = RoundTrip(768, 576, "hevc")
    reference = roundtrip.run(frames[0], plan[0].qp_map.dense(36, 48))
    predicted = roundtrip.run(frames[1], plan[1].qp_map.dense(36, 48), reference=reference)
    found = detector.detect(predicted[None])[0]
    assert all(survives(t, found, TargetSpec()) for t in targets[1])
    assert plan[1].qp_map.base > plan[0].qp_map.base  # a P-frame inherits, so it can be coarser
