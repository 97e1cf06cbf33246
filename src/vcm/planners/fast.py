"""The fast planner for live cameras: one detector pass every few frames, no codec loop.

Each target's blocks get a QP from how fragile its detection is (score just above
the threshold -> lower QP) and how small it is (small boxes -> lower QP); a context
ring around each box gets a few QP more; everything else gets the background QP.
Between detector passes the last boxes are reused, grown by a motion margin.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import BLOCK_SIZE, QPMap, grid_shape
from vcm.models.detector import Detection, Detector, box_iou
from vcm.planners.base import Plan, PlanSettings

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
    rows, cols = blocks.shape
    x1, y1, x2, y2 = box
    col0, row0 = max(int((x1 - grow) // BLOCK_SIZE), 0), max(int((y1 - grow) // BLOCK_SIZE), 0)
    col1 = min(int(np.ceil((x2 + grow) / BLOCK_SIZE)), cols)
    row1 = min(int(np.ceil((y2 + grow) / BLOCK_SIZE)), rows)
    region = blocks[row0:row1, col0:col1]
    np.minimum(region, qp, out=region)


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
    if previous is not None:
        same = [d for d in confident if d.class_id == previous.class_id]
        match = max(same, key=lambda d: box_iou(d.box, previous.box), default=None)
        if match is not None and box_iou(match.box, previous.box) >= TRACK_IOU:
            return match
    return max(confident, key=lambda d: d.score, default=None)


def plan_fast(frames: np.ndarray, detector: Detector, settings: PlanSettings,
              config: FastConfig | None = None, on_frame: Callable[[int], None] | None = None) -> Plan:
    """Plan a clip frame by frame as a live camera would (no look-ahead). With
    settings.targets.mode == 'top1' only one object is protected, tracked online."""
    config = config or FastConfig()
    height, width = frames.shape[1:3]
    min_score = settings.targets.min_score
    maps, calls = [], []
    latest: list[Detection] = []
    tracked: Detection | None = None
    age = 0
    for index, frame in enumerate(frames):
        if index % config.detect_every == 0:
            latest = [d for d in detector.detect(frame[None])[0] if d.score >= min_score]
            if settings.targets.mode == "top1":
                tracked = follow(tracked, latest)
                latest = [tracked] if tracked is not None else []
            age = 0
            calls.append(1)
        else:
            age += 1
            calls.append(0)
        intra = index % settings.gop == 0
        maps.append(fast_map(latest, width, height, min_score, config, age, intra) if latest
                    else QPMap(base=settings.max_qp))
        if on_frame is not None:
            on_frame(index)
    return Plan(frames=frames, maps=maps, checks=[0] * len(frames), detector_calls=calls)
