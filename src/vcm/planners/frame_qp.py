"""Per frame, the largest uniform QP at which every target is still detected."""

from collections.abc import Sequence

import numpy as np

from vcm.models.detector import Detection
from vcm.planners.base import SearchPlanner
from vcm.planners.registry import RateLadder, register_planner

QP_FLOOR = 10


@register_planner("frame-qp", summary="per frame, the largest uniform QP that still detects every target "
                  "(binary search on the real codec)", ladder=RateLadder("keep_score", (0.7, 0.5, 0.3)),
                  repairable=True, needs_targets=True)
class FrameQpPlanner(SearchPlanner):
    """Binary-search each frame's QP on the real codec; frames without targets (or whose
    targets are lost even at QP_FLOOR) get max_qp."""

    def choose(self, frame: np.ndarray, targets: Sequence[Detection],
               reference: np.ndarray | None) -> np.ndarray:
        keep = self.check.keepable(frame, targets, QP_FLOOR, reference)
        qp = (self.check.largest_uniform_qp(frame, keep, QP_FLOOR, self.settings.max_qp, reference) if keep
              else self.settings.max_qp)
        return np.full((self.check.rows, self.check.cols), qp)
