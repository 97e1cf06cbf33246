"""Baseline planners: uniform QP, and detector boxes kept with the rest painted black."""

from collections.abc import Sequence

import numpy as np

from vcm.codec.qpmap import QPMap
from vcm.models.detector import Detection
from vcm.planners.base import FrameInput, FramePlan, PlanContext
from vcm.planners.registry import RateLadder, register_planner

BBOX_MARGIN = 64


@register_planner("uniform", summary="one QP everywhere (--qp, 30)",
                  ladder=RateLadder("qp", (22, 26, 30, 34, 38, 42, 46)))
class UniformPlanner:
    """Every block of every frame at settings.qp."""

    def __init__(self, context: PlanContext, config: None = None) -> None:
        self.qp_map = QPMap(base=context.settings.qp)

    def plan(self, frame: FrameInput) -> FramePlan:
        return FramePlan(frame.rgb, self.qp_map)


def paint_outside_boxes(frame: np.ndarray, boxes: Sequence[Detection], margin: int) -> np.ndarray:
    """A copy of (H, W, 3) `frame` that is black outside every box grown by `margin` pixels."""
    height, width = frame.shape[:2]
    keep = np.zeros((height, width), dtype=bool)
    for detection in boxes:
        x1, y1, x2, y2 = detection.box
        keep[max(int(y1) - margin, 0) : min(int(np.ceil(y2)) + margin, height),
             max(int(x1) - margin, 0) : min(int(np.ceil(x2)) + margin, width)] = True
    return np.where(keep[..., None], frame, 0).astype(np.uint8)


@register_planner("bbox", summary="targets' boxes + 64 px kept at --qp, everything else painted black",
                  ladder=RateLadder("qp", (26, 30, 34, 38)), needs_targets=True)
class BboxPlanner:
    """Targets' boxes plus a 64 px margin kept, everything else black, all at settings.qp."""

    def __init__(self, context: PlanContext, config: None = None) -> None:
        self.qp_map = QPMap(base=context.settings.qp)

    def plan(self, frame: FrameInput) -> FramePlan:
        return FramePlan(paint_outside_boxes(frame.rgb, frame.targets, BBOX_MARGIN), self.qp_map)
