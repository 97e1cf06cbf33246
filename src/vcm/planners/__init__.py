"""QP planners: turn frames and detections into per-frame QP maps, one frame at a time.

Every planner is registered by name in `PLANNERS` (see registry.py); importing this
package registers the built-in ones, in the order listed to users (simplest first).
"""
# ruff: noqa: I001  (import order = registration order = the order users see)

from vcm.planners.base import FrameInput, FramePlan, Observing, PlanContext, Planner, PlanSettings
from vcm.planners.registry import (
    PLANNERS,
    LadderPoint,
    PlannerEntry,
    build_planner,
    listed_planners,
    plan_clip,
    planner_entry,
)
from vcm.planners.simple import BboxPlanner, UniformPlanner
from vcm.planners.frame_qp import FrameQpPlanner
from vcm.planners.xai import XaiConfig, XaiPlanner
from vcm.planners.fast import FastConfig, FastPlanner
from vcm.planners.learned import LearnedConfig, LearnedPlanner
from vcm.planners.given import GivenMap, GivenPlanner

__all__ = ["PLANNERS", "BboxPlanner", "FastConfig", "FastPlanner", "FrameInput", "FramePlan",
           "FrameQpPlanner", "GivenMap", "GivenPlanner", "LadderPoint",
           "LearnedConfig", "LearnedPlanner", "Observing", "PlanContext", "PlanSettings", "Planner",
           "PlannerEntry", "UniformPlanner",
           "XaiConfig", "XaiPlanner", "build_planner", "listed_planners", "plan_clip", "planner_entry"]
