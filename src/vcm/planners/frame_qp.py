"""Per frame, the largest uniform QP at which every target is still detected."""

from collections.abc import Callable, Sequence

import numpy as np

from vcm.codec.qpmap import QPMap
from vcm.models.detector import Detection, Detector
from vcm.planners.base import CodecCheck, Plan, PlanSettings

QP_FLOOR = 10


def plan_frame_qp(frames: np.ndarray, targets: Sequence[Sequence[Detection]], detector: Detector,
                  settings: PlanSettings, on_frame: Callable[[int], None] | None = None) -> Plan:
    """Binary-search each frame's QP on the real codec; frames without targets get max_qp."""
    check = CodecCheck(detector, frames.shape[2], frames.shape[1], settings)
    maps, checks, calls = [], [], []
    for index, (frame, frame_targets) in enumerate(zip(frames, targets, strict=True)):
        before, calls_before = check.checks, check.detector_calls
        qp = (check.largest_uniform_qp(frame, frame_targets, QP_FLOOR, settings.max_qp)
              if frame_targets else settings.max_qp)
        maps.append(QPMap(base=qp))
        checks.append(check.checks - before)
        calls.append(check.detector_calls - calls_before)
        if on_frame is not None:
            on_frame(index)
    return Plan(frames=frames, maps=maps, checks=checks, detector_calls=calls)
