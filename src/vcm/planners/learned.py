"""The learned planner: the XAI search distilled into one network pass per frame.

A small network (learned_net.PlanNet), trained by `vcm distil` on the xai planner's maps,
predicts every block's QP and whether it is kept, from the frame, the targets and the
previous frame's map. As the fast planner, it runs the detector every few frames and
reuses the last boxes (grown by a motion margin) in between; no codec in the loop.
"""

from dataclasses import dataclass

import numpy as np
import torch

from vcm.codec.qpmap import QPMap, block_span
from vcm.models.detector import Detection
from vcm.planners.base import EveryNthDetection, FrameInput, FramePlan, PlanContext
from vcm.planners.frame_qp import QP_FLOOR
from vcm.planners.learned_net import load_plan_net, plan_inputs
from vcm.planners.registry import RateLadder, register_planner
from vcm.planners.xai import paint_outside


@dataclass(frozen=True)
class LearnedConfig:
    """model: a file written by `vcm distil` (None: the shipped one); margin: QP taken off
    every predicted block QP (a safety margin); detect_every: run the detector on every
    n-th frame; motion_px: growth of reused boxes per frame since detection."""

    model: str | None = None
    margin: int = 0
    detect_every: int = 2
    motion_px: int = 4


@register_planner("learned", summary="the xai search distilled into a small network: per-block QP and "
                  "paint in one pass, detector every 2nd frame (real time)", config_type=LearnedConfig,
                  ladder=RateLadder("margin", (0, 3, 6)))
class LearnedPlanner:
    """Plans frame by frame with PlanNet, as a live camera would."""

    def __init__(self, context: PlanContext, config: LearnedConfig | None = None) -> None:
        self.detector, self.settings = context.detector, context.settings
        self.config = config or LearnedConfig()
        self.network = load_plan_net(self.config.model)
        self.rows, self.cols = -(-context.height // 16), -(-context.width // 16)
        self._previous_qp = np.full((self.rows, self.cols), self.settings.max_qp)
        self._previous_kept = np.zeros((self.rows, self.cols), dtype=bool)
        self._detections = EveryNthDetection(self.detector, self.config.detect_every,
                                             self.settings.targets)

    def plan(self, frame: FrameInput) -> FramePlan:
        found, calls = self._detections.update(frame)
        targets = [self._grown(t) for t in self._detections.latest]
        qp, kept = self._predict(frame.rgb, targets)
        self._previous_qp, self._previous_kept = qp, kept
        return FramePlan(paint_outside(frame.rgb, kept), QPMap.from_blocks(qp), 0, calls, found)

    def _grown(self, target: Detection) -> Detection:
        grow = self.config.motion_px * self._detections.age
        x1, y1, x2, y2 = target.box
        return Detection((x1 - grow, y1 - grow, x2 + grow, y2 + grow), target.score, target.class_id,
                         target.class_name, target.keypoints)

    def _predict(self, rgb: np.ndarray, targets: list[Detection]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) block QPs and kept mask; every target box is kept."""
        max_qp = self.settings.max_qp
        if not targets:
            return np.full((self.rows, self.cols), max_qp), np.zeros((self.rows, self.cols), dtype=bool)
        inputs = plan_inputs(rgb, targets, self._previous_qp, self._previous_kept,
                             self.settings.targets.min_score)
        with torch.inference_mode():
            out = self.network(inputs[None])[0].numpy()
        kept = out[1] > 0
        for target in targets:
            kept[block_span(target.box, 0, self.rows, self.cols)] = True
        qp = np.clip(np.rint(out[0]) - self.config.margin, QP_FLOOR, max_qp).astype(np.int16)
        qp[~kept] = max_qp
        return qp, kept
