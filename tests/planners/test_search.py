"""The search planners on real frames, judged by the real codec and the real detector."""

import dataclasses

import numpy as np
import pytest

from vcm.codec import decode, encode
from vcm.codec.roundtrip import RoundTrip
from vcm.models import YoloV3Tiny
from vcm.planners import FramePlan, PlanSettings, XaiConfig, plan_clip
from vcm.planners.xai import importance_offsets, paint_outside
from vcm.tasks.targets import TargetSpec, select_targets, survives

CROP = (slice(160, 448), slice(192, 576))  # 384x288 of the sample where people walk


def _kept(frame: np.ndarray, qp: int, targets: list, detector: YoloV3Tiny, safety: float = 0.0) -> list[bool]:
    """Per target, whether it survives `frame` coded alone at uniform `qp` (keeping `safety`
    of its headroom)."""
    rows, cols = -(-frame.shape[0] // 16), -(-frame.shape[1] // 16)
    decoded = RoundTrip(frame.shape[1], frame.shape[0], "hevc").run(frame, np.full((rows, cols), qp))
    found = detector.detect(decoded[None])[0]
    return [survives(t, found, TargetSpec(), safety) for t in targets]


@pytest.fixture(scope="module")
def targets(frames: np.ndarray, detector: YoloV3Tiny) -> list:
    return select_targets(detector.detect(frames[:2]), TargetSpec())


@pytest.mark.parametrize("check", ["p-frame", "intra"])
@pytest.mark.slow
def test_xai_stream_keeps_every_target(frames: np.ndarray, detector: YoloV3Tiny, targets: list, tmp_path,
                                       check: str) -> None:
    assert targets[0] and targets[1], "the sample's first frames have confident detections"
    settings = PlanSettings(codec="hevc", check=check)
    plans = plan_clip("xai", frames[:2], detector, settings, targets, XaiConfig(rounds=2))
    coded = encode([p.rgb for p in plans], [p.qp_map for p in plans], tmp_path / "x.mkv")
    stream = decode(coded.path).rgb
    for decoded, frame_targets in zip(stream, targets, strict=True):
        found = detector.detect(decoded[None])[0]
        assert all(survives(t, found, TargetSpec()) for t in frame_targets)
    uniform = encode(frames[:2], 30, tmp_path / "u.mkv")
    assert coded.total_bytes < 0.85 * uniform.total_bytes  # what the search is for
    for plan, frame, frame_targets in zip(plans, frames[:2], targets, strict=True):
        blocks = plan.qp_map.dense(36, 48)
        kept = (plan.rgb == frame).reshape(36, 16, 48, 16, 3).all(axis=(1, 3, 4))
        assert kept.mean() < 0.95 and (blocks[~kept] == 51).all()  # painted blocks: max QP
        for target in frame_targets:  # each box kept as it is, some of its blocks finer than the rest
            x1, y1, x2, y2 = (int(v) for v in target.box)
            assert np.array_equal(plan.rgb[y1:y2, x1:x2], frame[y1:y2, x1:x2])
            assert blocks[y1 // 16 : -(-y2 // 16), x1 // 16 : -(-x2 // 16)].min() < 51
        # the budget of XaiConfig(rounds=2): one max-QP coding for the importance, then per round
        # the current and the raised levels (the first round always codes both); 3 re-codes at most
        assert 3 <= plan.checks <= 5 and plan.recodes <= 3


@pytest.fixture(scope="module")
def crop(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames[:, CROP[0], CROP[1]])


@pytest.fixture(scope="module")
def crop_targets(crop: np.ndarray, detector: YoloV3Tiny) -> list:
    return select_targets(detector.detect(crop), TargetSpec())


def _touching(box: tuple, grow: float, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) bool: the 16x16 blocks that overlap `box` grown by `grow` pixels."""
    x1, y1, x2, y2 = box
    row = (np.arange(rows) * 16 + 16 > y1 - grow) & (np.arange(rows) * 16 < y2 + grow)
    col = (np.arange(cols) * 16 + 16 > x1 - grow) & (np.arange(cols) * 16 < x2 + grow)
    return row[:, None] & col[None, :]


def _stream_keeps(plans: list, targets: list, detector: YoloV3Tiny, path) -> list[bool]:
    """Per target of the last frame: whether it survives the plans coded as one stream."""
    decoded = decode(encode([p.rgb for p in plans], [p.qp_map for p in plans], path).path).rgb
    found = detector.detect(decoded[-1:])[0]
    return [survives(t, found, TargetSpec()) for t in targets]


def test_xai_widens_the_context_the_detector_needs(crop: np.ndarray, crop_targets: list,
                                                    detector: YoloV3Tiny) -> None:
    frame, [target] = crop[9], crop_targets[9]  # one person, 19x40 px

    def canvas(grow: float) -> np.ndarray:
        keep = _touching(target.box, grow, 18, 24)
        return np.where(np.repeat(np.repeat(keep, 16, 0), 16, 1)[..., None], frame, 0).astype(np.uint8)

    def seen(grow: float) -> bool:
        return survives(target, detector.detect(canvas(grow)[None])[0], TargetSpec())

    assert not seen(4) and seen(8), "4 px of context hide this person from the detector, 8 px do not"
    [plan] = plan_clip("xai", crop[9:10], detector, PlanSettings(), [[target]], XaiConfig(context_px=4))
    assert np.array_equal(plan.rgb, canvas(8))  # 4 px doubled once, and no further


@pytest.mark.slow
def test_xai_levels_rise_from_a_wasteful_start_and_fall_from_a_losing_one(
        crop: np.ndarray, crop_targets: list, detector: YoloV3Tiny, tmp_path) -> None:
    [target] = crop_targets[9]

    def plan(start_qp: int) -> FramePlan:
        return plan_clip("xai", crop[9:10], detector, PlanSettings(), [[target]],
                         XaiConfig(start_qp=start_qp, retries=0))[0]

    low = plan(22)
    assert low.qp_map.dense(18, 24).min() > 22  # raised while the person stayed detected
    assert _stream_keeps([low], [target], detector, tmp_path / "low.mkv") == [True]
    high = plan(51)
    assert _kept(high.rgb, 51, [target], detector) == [False]  # QP 51 loses the person on this canvas
    assert high.qp_map.dense(18, 24).min() < 51 and high.recodes == 0  # the search itself stepped down
    assert _stream_keeps([high], [target], detector, tmp_path / "high.mkv") == [True]


@pytest.mark.slow
def test_xai_verification_repairs_a_target_the_stream_lost(crop: np.ndarray, crop_targets: list,
                                                           detector: YoloV3Tiny, tmp_path) -> None:
    [target] = crop_targets[1]  # from QP 51 the search steps 4 + 2 + 1 down, to 44, which loses it
    config = XaiConfig(start_qp=51)
    [unverified] = plan_clip("xai", crop[1:2], detector, PlanSettings(), [[target]],
                             dataclasses.replace(config, retries=0))
    assert unverified.qp_map.dense(18, 24).min() == 44
    assert _stream_keeps([unverified], [target], detector, tmp_path / "lost.mkv") == [False]
    [repaired] = plan_clip("xai", crop[1:2], detector, PlanSettings(), [[target]], config)
    assert repaired.recodes == 1 and repaired.qp_map.dense(18, 24).min() == 40  # one step of 4 down
    assert _stream_keeps([repaired], [target], detector, tmp_path / "kept.mkv") == [True]


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


@pytest.mark.slow
def test_frame_qp_is_the_largest_detectable(crop: np.ndarray, crop_targets: list,
                                            detector: YoloV3Tiny) -> None:
    settings = PlanSettings(codec="hevc", safety=0.25)
    clip, targets = crop[2:4], crop_targets[2:4]  # two frames, each coded alone (check "intra")
    plans = plan_clip("frame-qp", clip, detector, settings, targets)
    assert len({plan.qp_map.base for plan in plans}) > 1  # the QP follows each frame
    for plan, frame, frame_targets in zip(plans, clip, targets, strict=True):
        keepable = [t for t, ok in zip(frame_targets, _kept(frame, 10, frame_targets, detector, 0.25),
                                       strict=True) if ok]
        assert keepable, "QP 10 keeps a target of these frames"
        qp = plan.qp_map.base
        assert all(_kept(frame, qp, keepable, detector, 0.25))
        if qp < 51:
            assert not all(_kept(frame, qp + 1, keepable, detector, 0.25))


@pytest.mark.slow
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


def test_xai_config_refuses_a_context_that_cannot_grow() -> None:
    with pytest.raises(ValueError, match="context_px"):
        XaiConfig(context_px=0)
