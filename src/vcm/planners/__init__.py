"""QP planners: turn frames and detections into per-frame QP maps."""

from vcm.planners.boxes import box_qp_map

__all__ = ["box_qp_map"]
