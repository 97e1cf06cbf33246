"""Per frame, the largest uniform QP at which every target is still detected."""

from collections.abc import Callable, Sequence

import numpy as np

from vcm.models.detector import Detection, Detector
from vcm.planners.base import CodecCheck, Plan, PlanSettings, plan_in_order

QP_FLOOR = 10


def plan_frame_qp(frames: np.ndarray, targets: Sequence[Sequence[Detection]], detector: Detector,
                  settings: PlanSettings, on_frame: Callable[[int], None] | None = None) -> Plan:
    """Binary-search each frame's QP on the real codec; frames without targets (or whose
    targets are lost even at QP_FLOOR) get max_qp."""
    check = CodecCheck(detector, frames.shape[2], frames.shape[1], settings)

    def choose(frame: np.ndarray, frame_targets: Sequence[Detection],
               reference: np.ndarray | None) -> np.ndarray:
        keep = check.keepable(frame, frame_targets, QP_FLOOR, reference)
        qp = check.largest_uniform_qp(frame, keep, QP_FLOOR, settings.max_qp, reference) if keep \
            else settings.max_qp
        return np.full((check.rows, check.cols), qp)

    return plan_in_order(frames, targets, check, settings, choose, on_frame)
