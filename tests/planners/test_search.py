"""The search planners on real frames, judged by the real codec and the real detector."""

import numpy as np
import pytest

from vcm.codec.roundtrip import RoundTrip
from vcm.models import YoloV3Tiny
from vcm.planners import PlanSettings, XaiBudget, plan_clip
from vcm.targets import TargetSpec, select_targets, survives

SETTINGS = PlanSettings(codec="hevc")


def _lost_targets(frame: np.ndarray, blocks: np.ndarray, targets: list, detector: YoloV3Tiny) -> int:
    decoded = RoundTrip(frame.shape[1], frame.shape[0], "hevc").run(frame, blocks)
    found = detector.detect(decoded[None])[0]
    return sum(not survives(t, found, TargetSpec()) for t in targets)


@pytest.fixture(scope="module")
def targets(frames: np.ndarray, detector: YoloV3Tiny) -> list:
    return select_targets(detector.detect(frames[:2]), TargetSpec())


def test_xai_map_keeps_every_target_on_the_checked_frame(frames: np.ndarray, detector: YoloV3Tiny,
                                                           targets: list) -> None:
    assert targets[0], "the sample's first frame has confident detections"
    budget = XaiBudget(shrink_steps=2, max_checks=30)
    [plan] = plan_clip("xai", frames[:1], detector, SETTINGS, targets[:1], budget)
    blocks = plan.qp_map.blocks
    assert _lost_targets(frames[0], blocks, targets[0], detector) == 0
    assert plan.checks <= 30 + 2 * 9 + 2 + 2  # budget + one started round (grow over 432 regions, shrink)
    assert blocks.max() > blocks.min()  # not a uniform map: the search separated blocks


def test_frames_without_targets_get_the_maximum_qp(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    [plan] = plan_clip("xai", frames[:1], detector, PlanSettings(max_qp=47), [[]])
    assert plan.qp_map.dense(36, 48).min() == 47 and plan.detector_calls == 0
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
