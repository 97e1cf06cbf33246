"""Baseline planners: uniform QP, and detector boxes kept with the rest painted black."""

from collections.abc import Sequence

import numpy as np

from vcm.codec.qpmap import QPMap
from vcm.models.detector import Detection
from vcm.planners.base import Plan, PlanSettings

BBOX_MARGIN = 64


def plan_uniform(frames: np.ndarray, settings: PlanSettings) -> Plan:
    """Every block of every frame at settings.qp."""
    count = len(frames)
    return Plan(frames=frames, maps=[QPMap(base=settings.qp)] * count, checks=[0] * count,
                detector_calls=[0] * count)


def paint_outside_boxes(frame: np.ndarray, boxes: Sequence[Detection], margin: int) -> np.ndarray:
    """A copy of (H, W, 3) `frame` that is black outside every box grown by `margin` pixels."""
    height, width = frame.shape[:2]
    keep = np.zeros((height, width), dtype=bool)
    for detection in boxes:
        x1, y1, x2, y2 = detection.box
        keep[max(int(y1) - margin, 0) : min(int(np.ceil(y2)) + margin, height),
             max(int(x1) - margin, 0) : min(int(np.ceil(x2)) + margin, width)] = True
    return np.where(keep[..., None], frame, 0).astype(np.uint8)


def plan_bbox(frames: np.ndarray, targets: Sequence[Sequence[Detection]], settings: PlanSettings) -> Plan:
    """Targets' boxes plus a 64 px margin kept, everything else black, all at settings.qp."""
    painted = np.stack([paint_outside_boxes(frame, frame_targets, BBOX_MARGIN)
                        for frame, frame_targets in zip(frames, targets, strict=True)])
    plan = plan_uniform(frames, settings)
    plan.frames = painted
    return plan
