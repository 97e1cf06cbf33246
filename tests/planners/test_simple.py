import numpy as np

from vcm.models import YoloV3Tiny
from vcm.models.detector import Detection
from vcm.planners import PLANNERS, FastConfig, PlanSettings, listed_planners, plan_clip
from vcm.planners.fast import fast_map, follow, target_qp


def test_uniform_uses_one_qp(frames: np.ndarray) -> None:
    plan = plan_clip("uniform", frames[:3], None, PlanSettings(qp=33))
    assert [p.qp_map.base for p in plan] == [33, 33, 33] and all(p.qp_map.blocks is None for p in plan)


def test_bbox_is_black_outside_kept_boxes(frames: np.ndarray) -> None:
    margin = 64  # pixels of context kept around each box
    box = Detection(box=(300.0, 200.0, 340.0, 280.0), score=0.9, class_id=0, class_name="person")
    plan = plan_clip("bbox", frames[:2], None, PlanSettings(), [[box], []])
    painted = plan[0].rgb
    inside = painted[200 - margin : 280 + margin, 300 - margin : 340 + margin]
    assert np.array_equal(inside, frames[0][200 - margin : 280 + margin,
                                            300 - margin : 340 + margin])
    outside = painted.copy()
    outside[200 - margin : 280 + margin, 300 - margin : 340 + margin] = 0
    assert outside.max() == 0
    assert plan[1].rgb.max() == 0  # no targets: nothing kept


def test_fast_qp_follows_fragility_and_size() -> None:
    config = FastConfig()
    confident = Detection((0.0, 0.0, 30.0, 64.0), 0.95, 0, "person")
    fragile = Detection((0.0, 0.0, 30.0, 64.0), 0.71, 0, "person")
    small = Detection((0.0, 0.0, 10.0, 16.0), 0.95, 0, "person")
    assert target_qp(confident, 0.7, config) == 36  # the default ROI QP
    assert target_qp(fragile, 0.7, config) < target_qp(confident, 0.7, config)
    assert target_qp(small, 0.7, config) < target_qp(confident, 0.7, config)
    blocks = fast_map([confident], 768, 576, 0.7, config).blocks
    assert blocks[0, 0] == 36 and blocks[-1, -1] == 51  # the box at the ROI QP, the rest at max QP


def test_fast_detects_every_nth_frame(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    plan = plan_clip("fast", frames[:5], detector, PlanSettings(), config=FastConfig(detect_every=2))
    assert [p.detector_calls for p in plan] == [1, 0, 1, 0, 1]
    first, second = plan[0].qp_map.blocks, plan[1].qp_map.blocks
    assert first.min() < 40 and first.max() == 40  # the I-frame: targets finer than its background
    assert second.min() < 40 and second.max() == 51  # a P-frame leaves what did not change to 51


def test_fast_keeps_unsure_detections_at_the_reference_quality() -> None:
    config = FastConfig(floor=0.3, unsure_qp=30)
    unsure = Detection((0.0, 0.0, 30.0, 64.0), 0.45, 0, "person")
    assert target_qp(unsure, 0.7, config) == 30
    blocks = fast_map([unsure], 768, 576, 0.7, config).blocks
    assert blocks[0, 0] == 30 and blocks[-1, -1] == 51
    assert blocks[6, 4] == 30  # its 64 px ring too: the context a detector reads stays as QP 30 gives it


def test_fast_lowest_qp_bounds_large_targets_and_lets_small_ones_go_lower() -> None:
    bounded = FastConfig(lowest_qp=30)
    fragile_large = Detection((0.0, 0.0, 300.0, 400.0), 0.71, 0, "person")
    fragile_small = Detection((0.0, 0.0, 8.0, 16.0), 0.71, 0, "person")
    assert target_qp(fragile_large, 0.7, FastConfig()) == 25  # 36 less 11 for its thin headroom
    assert target_qp(fragile_large, 0.7, bounded) == 30
    assert target_qp(fragile_large, 0.7, bounded, steer=-12) == 30  # the closed loop stays bounded too
    assert target_qp(fragile_large, 0.7, bounded, steer=8) == 33
    assert target_qp(fragile_small, 0.7, bounded) == 26  # 16 px: bound two halvings (2 QP each) lower
    unsure_large = Detection((0.0, 0.0, 300.0, 400.0), 0.4, 0, "person")
    assert target_qp(unsure_large, 0.7, bounded, steer=-8) == 30


def test_fast_keeps_a_second_detectors_extra_finds_at_the_reference() -> None:
    config = FastConfig(unsure_qp=30)
    missed = Detection((400.0, 300.0, 440.0, 380.0), 0.5, 0, "person")
    blocks = fast_map([], 768, 576, 0.7, config, kept=[missed]).blocks
    assert blocks[20, 26] == 30 and blocks[0, 0] == 51  # inside the box, and far from it
    assert blocks[20, 22] == 30  # its 64 px ring too


def test_fast_runs_the_second_detector_every_nth_frame(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    config = FastConfig(detect_every=2, second_every=4, second_detector="yolov3-tiny")
    plan = plan_clip("fast", frames[:5], detector, PlanSettings(), config=config)
    assert [p.detector_calls for p in plan] == [2, 0, 1, 0, 2]
    plain = plan_clip("fast", frames[:5], detector, PlanSettings(), config=FastConfig(detect_every=2))
    for second, alone in zip(plan, plain, strict=True):  # the same detector finds nothing extra
        assert np.array_equal(second.qp_map.blocks, alone.qp_map.blocks)


def test_fast_offset_shifts_every_qp_within_the_codec_range() -> None:
    confident = Detection((0.0, 0.0, 30.0, 64.0), 0.95, 0, "person")
    base, finer, coarser = (fast_map([confident], 768, 576, 0.7, FastConfig(offset=offset), intra=True).blocks
                            for offset in (0, -6, 14))
    assert base[0, 0] == 36 and base[-1, -1] == 40
    assert finer[0, 0] == 30 and finer[-1, -1] == 34
    assert coarser[0, 0] == 50 and coarser[-1, -1] == 51  # capped at the codec's maximum


def test_fast_keeps_unsure_people_and_motion_on_real_frames(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    confident_only = FastConfig(floor=1.0, change_level=None, intra_background_qp=51)
    bare = plan_clip("fast", frames[:3], detector, PlanSettings(), config=confident_only)
    safe = plan_clip("fast", frames[:3], detector, PlanSettings())
    for plain, kept in zip(bare, safe, strict=True):
        assert (kept.qp_map.blocks <= plain.qp_map.blocks).all()  # fail-safe only ever adds quality
    assert (safe[1].qp_map.blocks < bare[1].qp_map.blocks).any()  # people walk: changed blocks kept
    assert (safe[0].qp_map.blocks == 40).any() and not (bare[0].qp_map.blocks == 40).any()


def test_fast_plans_for_the_classes_of_interest_only(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    from vcm.tasks.targets import TargetSpec

    no_targets = PlanSettings(targets=TargetSpec(classes=("giraffe",)))
    plan = plan_clip("fast", frames[:1], detector, no_targets)[0].qp_map.blocks
    assert (plan == FastConfig().intra_background_qp).all()  # people are not what this task needs


def test_fast_top1_protects_one_tracked_object() -> None:
    person = Detection((100.0, 100.0, 130.0, 160.0), 0.8, 0, "person")
    brighter = Detection((400.0, 100.0, 430.0, 160.0), 0.95, 0, "person")
    moved = Detection((104.0, 101.0, 134.0, 161.0), 0.75, 0, "person")
    assert follow(None, [person, brighter]) is brighter
    assert follow(person, [moved, brighter]) is moved
    assert follow(person, [brighter]) is brighter  # lost: start over with the best


def test_fast_top1_map_keeps_fewer_blocks(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    from vcm.tasks.targets import TargetSpec

    every = plan_clip("fast", frames[:1], detector, PlanSettings())[0].qp_map.blocks
    top1 = PlanSettings(targets=TargetSpec(mode="top1"))
    one = plan_clip("fast", frames[:1], detector, top1)[0].qp_map.blocks
    background = FastConfig().intra_background_qp
    assert (one < background).sum() < (every < background).sum() and (one < background).any()


def test_registry_lists_every_planner_with_its_ladder() -> None:
    assert listed_planners() == ["uniform", "bbox", "frame-qp", "xai", "fast", "learned"]
    assert list(PLANNERS) == [*listed_planners(), "given"]
    labels = [p.label for p in PLANNERS["uniform"].points(PlanSettings(qp=30))]
    assert labels == ["qp22", "qp26", "qp30", "qp34", "qp38", "qp42", "qp46"]
    assert [p.label for p in PLANNERS["fast"].points(PlanSettings(), full=False)] == ["offset0"]
    assert PLANNERS["frame-qp"].repairable and not PLANNERS["fast"].repairable
    assert not PLANNERS["xai"].repairable  # it verifies every frame on the final stream itself
    assert [p.label for p in PLANNERS["learned"].points(PlanSettings())] == ["margin0", "margin3", "margin6"]
