"""The fast planner for live cameras: one detector pass every few frames, no codec loop.

Each target's blocks get a QP from how fragile its detection is (score just above
the threshold -> lower QP) and how small it is (small boxes -> lower QP); a context
ring around each box gets a few QP more; everything else gets the background QP.
Between detector passes the last boxes are reused, grown by a motion margin.
"""

from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import QPMap, block_span, grid_shape
from vcm.models.detector import Detection
from vcm.planners.base import EveryNthDetection, FrameInput, FramePlan, PlanContext
from vcm.planners.registry import RateLadder, register_planner
from vcm.tasks.targets import best_match

TRACK_IOU = 0.3


@dataclass(frozen=True)
class FastConfig:
    """detect_every: run the detector on every n-th frame; roi_qp: QP of a confident,
    64 px tall target; fragile_drop: QP removed for a score at the threshold (scaled
    linearly to 0 at score threshold + fragile_span); small_drop: QP removed per halving
    of box height below 64 px; context_px/context_delta: the ring around a box and its
    QP above the box's; background_qp: the rest of a P-frame; intra_background_qp: the
    rest of an I-frame, which every P-frame of its GOP inherits where nothing moves;
    motion_px: growth of reused boxes per frame since detection."""

    detect_every: int = 2
    roi_qp: int = 36
    fragile_drop: int = 12
    fragile_span: float = 0.2
    small_drop: int = 2
    context_px: int = 64
    context_delta: int = 3
    background_qp: int = 51
    intra_background_qp: int = 51
    motion_px: int = 4


def target_qp(detection: Detection, min_score: float, config: FastConfig) -> int:
    """The QP for one target's blocks."""
    fragility = max(0.0, 1.0 - (detection.score - min_score) / config.fragile_span)
    height = max(detection.box[3] - detection.box[1], 1.0)
    smallness = max(0.0, np.log2(64.0 / height))
    return round(float(config.roi_qp - config.fragile_drop * fragility - config.small_drop * smallness))


def _paint(blocks: np.ndarray, box: tuple[float, float, float, float], grow: float, qp: int) -> None:
    rows, cols = block_span(box, grow, *blocks.shape)
    np.minimum(blocks[rows, cols], qp, out=blocks[rows, cols])


def fast_map(targets: list[Detection], width: int, height: int, min_score: float,
             config: FastConfig, age: int = 0, intra: bool = False) -> QPMap:
    """The QP map for one frame given the latest targets, detected `age` frames ago."""
    background = config.intra_background_qp if intra else config.background_qp
    blocks = np.full(grid_shape(width, height), background, dtype=np.int16)
    motion = config.motion_px * age
    for target in targets:
        qp = target_qp(target, min_score, config)
        _paint(blocks, target.box, motion + config.context_px, min(qp + config.context_delta, background))
        _paint(blocks, target.box, motion, qp)
    return QPMap(base=background, blocks=blocks)


def follow(previous: Detection | None, confident: list[Detection]) -> Detection | None:
    """Online top-1 tracking: the detection of the tracked class that overlaps the tracked box
    most (IoU >= 0.3 between detector passes), else the best-scoring detection."""
    match = best_match(previous, confident, TRACK_IOU) if previous is not None else None
    return match if match is not None else max(confident, key=lambda d: d.score, default=None)


@register_planner("fast", summary="one detector pass every 2nd frame; QP from each target's score headroom "
                  "and size, a 64 px context ring, the rest at 51 (real time)", config_type=FastConfig,
                  ladder=RateLadder("roi_qp", (32, 36, 40)))
class FastPlanner:
    """Plans frame by frame as a live camera would (no look-ahead). With
    settings.targets.mode == 'top1' only one object is protected, tracked online."""

    def __init__(self, context: PlanContext, config: FastConfig | None = None) -> None:
        self.detector, self.settings = context.detector, context.settings
        self.config = config or FastConfig()
        self.width, self.height = context.width, context.height
        self._detections = EveryNthDetection(self.detector, self.config.detect_every,
                                             self.settings.targets.min_score)
        self._tracked: Detection | None = None

    def plan(self, frame: FrameInput) -> FramePlan:
        min_score = self.settings.targets.min_score
        found, calls = self._detections.update(frame)
        latest = self._detections.latest
        if found is not None and self.settings.targets.mode == "top1":
            self._tracked = follow(self._tracked, latest)
            self._detections.latest = latest = [self._tracked] if self._tracked is not None else []
        qp_map = (fast_map(latest, self.width, self.height, min_score, self.config, self._detections.age,
                           frame.intra) if latest else QPMap(base=self.settings.max_qp))
        return FramePlan(frame.rgb, qp_map, 0, calls, found)
