"""The fast planner for live cameras: one detector pass every few frames, no codec loop.

Each target's blocks get a QP from how fragile its detection is (score just above the
operating score -> lower QP) and how small it is (small boxes -> lower QP); a context ring
around each box gets a few QP more. It fails safe: what the detector half sees (scores
from a floor up to the operating score) is kept as a target at the threshold, blocks that
changed since the previous frame (something moving, or entering, that the detector may
have missed) get the change QP, and an I-frame's background, which every P-frame of its
GOP inherits where nothing moves, stays at a QP where static objects remain detectable.
Only a P-frame's unchanged background is left to the maximum QP. Between detector passes
the last boxes are reused, grown by a motion margin. With loop_down > 0 and a verified
stream, each object's result on the decoded frames steers its QP (vcm.planners.feedback).
Two optional guards: a lowest QP for a target (a large object needs no finer coding than
the reference gives it; smaller ones may go lower), and a second detector every few frames
whose finds the first one missed are kept at the reference quality too.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import QP_MAX, QP_MIN, QPMap, block_span, grid_shape
from vcm.models.detector import Detection
from vcm.models.detectors import load_detector
from vcm.planners.base import EveryNthDetection, FrameInput, FramePlan, PlanContext
from vcm.planners.change import changed_blocks, luma
from vcm.planners.feedback import TRACK_IOU, ScoreFeedback
from vcm.planners.registry import RateLadder, register_planner
from vcm.tasks.targets import best_match


@dataclass(frozen=True)
class FastConfig:
    """detect_every: run the detector on every n-th frame; roi_qp: QP of a confident,
    64 px tall target; fragile_drop: QP removed for a score at the threshold (scaled
    linearly to 0 at score threshold + fragile_span); small_drop: QP removed per halving
    of box height below 64 px; context_px/context_delta: the ring around a box and its
    QP above the box's; floor: detections scored in [floor, operating score) are kept at
    unsure_qp, their ring too (1.0: none kept); change_level: mean absolute luma change (0-255)
    of a 16x16 block since the previous frame above which it counts as changed (None: no
    change cue); change_qp: QP of changed blocks and a one-block ring around them;
    background_qp: the rest of a P-frame; intra_background_qp: the rest of an I-frame;
    motion_px: growth of reused boxes per frame since detection; offset: added to every
    QP (the rate knob), capped to 0-51; loop_down / loop_up / loop_highest: the closed
    loop's QP steps for an object whose decoded decision flipped / held, and the most QP it
    may add (loop_down 0: open loop; the loop needs a verified stream); lowest_qp: the
    lowest QP of a target 64 px tall or more, steering included (less small_drop per halving
    below; None: no bound); second_detector / second_every: a detector (vcm.models.DETECTORS
    name) run on every n-th frame whose finds of interest scored >= floor that overlap none of
    the first detector's are kept at unsure_qp (second_every 0: none)."""

    detect_every: int = 2
    roi_qp: int = 36
    fragile_drop: int = 12
    fragile_span: float = 0.2
    small_drop: int = 2
    context_px: int = 64
    context_delta: int = 3
    floor: float = 0.3
    unsure_qp: int = 30
    change_level: float | None = 8.0
    change_qp: int = 34
    background_qp: int = 51
    intra_background_qp: int = 40
    motion_px: int = 4
    offset: int = 0
    loop_down: int = 4
    loop_up: int = 1
    loop_highest: int = 8
    lowest_qp: int | None = None
    second_detector: str = "centernet"
    second_every: int = 0


def target_qp(detection: Detection, min_score: float, config: FastConfig, steer: int = 0) -> int:
    """The QP for one target's blocks (before the offset), moved by the closed loop's `steer`
    and bounded below by config.lowest_qp (less small_drop per halving below 64 px); an unsure
    one (scored below the operating score) starts at config.unsure_qp, the quality a uniform
    QP 30 stream gives it."""
    height = max(detection.box[3] - detection.box[1], 1.0)
    size_drop = config.small_drop * max(0.0, float(np.log2(64.0 / height)))
    if detection.score < min_score:
        qp = config.unsure_qp + steer
    else:
        fragility = max(0.0, 1.0 - (detection.score - min_score) / config.fragile_span)
        qp = round(config.roi_qp - config.fragile_drop * fragility - size_drop) + steer
    return qp if config.lowest_qp is None else max(qp, round(config.lowest_qp - size_drop))


def _paint(blocks: np.ndarray, box: tuple[float, float, float, float], grow: float, qp: int) -> None:
    rows, cols = block_span(box, grow, *blocks.shape)
    np.minimum(blocks[rows, cols], qp, out=blocks[rows, cols])


def fast_map(targets: list[Detection], width: int, height: int, min_score: float, config: FastConfig,
             age: int = 0, intra: bool = False, changed: np.ndarray | None = None,
             max_qp: int = QP_MAX, steer: Sequence[int] | None = None,
             kept: Sequence[Detection] = (), kept_age: int = 0) -> QPMap:
    """The QP map for one frame given the latest targets (unsure ones included), detected
    `age` frames ago, the (rows, cols) bool blocks that changed since the previous frame,
    per target a QP offset from the closed loop (`steer`, default 0), and boxes `kept` at
    unsure_qp, found `kept_age` frames ago (a second detector's)."""
    def shifted(qp: int) -> int:
        return int(np.clip(qp + config.offset, QP_MIN, max_qp))

    background = shifted(config.intra_background_qp if intra else config.background_qp)
    blocks = np.full(grid_shape(width, height), background, dtype=np.int16)
    if changed is not None:
        blocks[changed] = np.minimum(blocks[changed], shifted(config.change_qp))
    for box in kept:
        _paint(blocks, box.box, config.motion_px * kept_age + config.context_px, shifted(config.unsure_qp))
    motion = config.motion_px * age
    for target, extra in zip(targets, steer if steer is not None else [0] * len(targets), strict=True):
        qp = shifted(target_qp(target, min_score, config, extra))
        ring = qp if target.score < min_score else qp + config.context_delta  # unsure: all at the reference
        _paint(blocks, target.box, motion + config.context_px, min(ring, background))
        _paint(blocks, target.box, motion, qp)
    return QPMap.from_blocks(blocks)


def follow(previous: Detection | None, confident: list[Detection]) -> Detection | None:
    """Online top-1 tracking: the detection of the tracked class that overlaps the tracked box
    most (IoU >= 0.3 between detector passes), else the best-scoring detection."""
    match = best_match(previous, confident, TRACK_IOU) if previous is not None else None
    return match if match is not None else max(confident, key=lambda d: d.score, default=None)


@register_planner("fast", summary="one detector pass every 2nd frame; QP from each target's score headroom "
                  "and size, steered by the verified stream, unsure detections and changed blocks kept, "
                  "I-frame background at 40 (real time, fails safe)", config_type=FastConfig,
                  ladder=RateLadder("offset", (-6, -3, 0, 3, 6)))
class FastPlanner:
    """Plans frame by frame as a live camera would (no look-ahead). With
    settings.targets.mode == 'top1' only one confident object is protected, tracked online
    (unsure detections and changed blocks are still kept)."""

    def __init__(self, context: PlanContext, config: FastConfig | None = None) -> None:
        self.detector, self.settings = context.detector, context.settings
        self.config = config or FastConfig()
        self.width, self.height = context.width, context.height
        self._detections = EveryNthDetection(self.detector, self.config.detect_every, self.settings.targets,
                                             self.config.floor)
        self._tracked: Detection | None = None
        self._previous: np.ndarray | None = None
        self._feedback = ScoreFeedback(self.settings.targets.min_score, self.config.loop_down,
                                       self.config.loop_up, highest=self.config.loop_highest)
        self._second = load_detector(self.config.second_detector) if self.config.second_every > 0 else None
        self._second_found: list[Detection] = []
        self._second_age = 0

    def plan(self, frame: FrameInput) -> FramePlan:
        found, calls = self._detections.update(frame)
        latest = self._detections.latest
        if found is not None and self.settings.targets.mode == "top1":
            self._tracked = follow(self._tracked, latest)
            self._detections.latest = latest = [self._tracked] if self._tracked is not None else []
        objects = latest + self._detections.unsure
        if found is not None:
            self._feedback.follow(objects)
        calls += self._second_opinion(frame, objects)
        changed = None
        if self.config.change_level is not None:
            current = luma(frame.rgb)
            if self._previous is not None:
                changed = changed_blocks(self._previous, current, self.config.change_level)
            self._previous = current
        qp_map = fast_map(objects, self.width, self.height, self.settings.targets.min_score, self.config,
                          self._detections.age, frame.intra, changed, self.settings.max_qp,
                          self._feedback.offsets(), self._second_found, self._second_age)
        return FramePlan(frame.rgb, qp_map, 0, calls, found)

    def _second_opinion(self, frame: FrameInput, objects: list[Detection]) -> int:
        """Runs the second detector on every second_every-th frame and keeps its finds of
        interest (scored >= floor) that overlap none of `objects`; detector calls spent."""
        if self._second is None or frame.index % self.config.second_every != 0:
            self._second_age += 1
            return 0
        spec = self.settings.targets
        found = spec.of_interest(self._second.detect(frame.rgb[None])[0])
        self._second_found = [d for d in found if d.score >= self.config.floor
                              and best_match(d, objects, TRACK_IOU) is None]
        self._second_age = 0
        return 1

    def observe(self, index: int, original: Sequence[Detection], decoded: Sequence[Detection]) -> None:
        """A checked frame's detections on the original and on the decoded stream."""
        self._feedback.observe(original, decoded)
