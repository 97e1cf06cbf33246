import numpy as np

from vcm.models import YoloV3Tiny
from vcm.models.detector import Detection
from vcm.planners import FastConfig, PlanSettings, plan_bbox, plan_fast, plan_uniform
from vcm.planners.fast import fast_map, follow, target_qp
from vcm.planners.simple import BBOX_MARGIN


def test_uniform_uses_one_qp(frames: np.ndarray) -> None:
    plan = plan_uniform(frames[:3], PlanSettings(qp=33))
    assert [m.base for m in plan.maps] == [33, 33, 33] and all(m.blocks is None for m in plan.maps)


def test_bbox_is_black_outside_kept_boxes(frames: np.ndarray) -> None:
    box = Detection(box=(300.0, 200.0, 340.0, 280.0), score=0.9, class_id=0, class_name="person")
    plan = plan_bbox(frames[:2], [[box], []], PlanSettings())
    painted = plan.frames[0]
    inside = painted[200 - BBOX_MARGIN : 280 + BBOX_MARGIN, 300 - BBOX_MARGIN : 340 + BBOX_MARGIN]
    assert np.array_equal(inside, frames[0][200 - BBOX_MARGIN : 280 + BBOX_MARGIN,
                                            300 - BBOX_MARGIN : 340 + BBOX_MARGIN])
    outside = painted.copy()
    outside[200 - BBOX_MARGIN : 280 + BBOX_MARGIN, 300 - BBOX_MARGIN : 340 + BBOX_MARGIN] = 0
    assert outside.max() == 0
    assert plan.frames[1].max() == 0  # no targets: nothing kept


def test_fast_qp_follows_fragility_and_size() -> None:
    config = FastConfig()
    confident = Detection((0.0, 0.0, 30.0, 64.0), 0.95, 0, "person")
    fragile = Detection((0.0, 0.0, 30.0, 64.0), 0.71, 0, "person")
    small = Detection((0.0, 0.0, 10.0, 16.0), 0.95, 0, "person")
    assert target_qp(confident, 0.7, config) == config.roi_qp
    assert target_qp(fragile, 0.7, config) < target_qp(confident, 0.7, config)
    assert target_qp(small, 0.7, config) < target_qp(confident, 0.7, config)
    blocks = fast_map([confident], 768, 576, 0.7, config).blocks
    assert blocks[0, 0] == config.roi_qp and blocks[-1, -1] == config.background_qp


def test_fast_detects_every_nth_frame(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    plan = plan_fast(frames[:5], detector, PlanSettings(), FastConfig(detect_every=2))
    assert plan.detector_calls == [1, 0, 1, 0, 1]
    first = plan.maps[0].blocks
    assert first.min() < FastConfig().background_qp  # targets found and kept finer


def test_fast_top1_protects_one_tracked_object() -> None:
    person = Detection((100.0, 100.0, 130.0, 160.0), 0.8, 0, "person")
    brighter = Detection((400.0, 100.0, 430.0, 160.0), 0.95, 0, "person")
    moved = Detection((104.0, 101.0, 134.0, 161.0), 0.75, 0, "person")
    assert follow(None, [person, brighter]) is brighter
    assert follow(person, [moved, brighter]) is moved
    assert follow(person, [brighter]) is brighter  # lost: start over with the best


def test_fast_top1_map_keeps_fewer_blocks(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    from vcm.targets import TargetSpec

    every = plan_fast(frames[:1], detector, PlanSettings()).maps[0].blocks
    one = plan_fast(frames[:1], detector, PlanSettings(targets=TargetSpec(mode="top1"))).maps[0].blocks
    assert (one < 51).sum() < (every < 51).sum() and (one < 51).any()
