"""QP planners: turn frames and detections into per-frame QP maps."""

from vcm.planners.base import Plan, PlanSettings
from vcm.planners.fast import FastConfig, plan_fast
from vcm.planners.frame_qp import plan_frame_qp
from vcm.planners.simple import plan_bbox, plan_uniform
from vcm.planners.xai import XaiBudget, plan_xai

METHODS = ("uniform", "bbox", "frame-qp", "xai", "fast")

__all__ = ["METHODS", "FastConfig", "Plan", "PlanSettings", "XaiBudget", "plan_bbox", "plan_fast",
           "plan_frame_qp", "plan_uniform", "plan_xai"]
