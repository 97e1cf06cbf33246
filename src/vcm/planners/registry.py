"""The planner registry: one table of named planners, their config, rate ladder and traits.

A planner class registers itself with `@register_planner(...)`; everything else (the
CLI's choices, the pipeline, the evaluation's ladders, repair) reads this table, as
CompressAI's registry and zoo keep models and their quality levels as data.
"""

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vcm.models.detector import Detection, Detector
from vcm.planners.base import FrameInput, FramePlan, PlanContext, Planner, PlanSettings
from vcm.registry import Registry


@dataclass(frozen=True)
class RateLadder:
    """A planner's operating points: the knob varied and its values. knob 'qp' is
    PlanSettings.qp, 'keep_score' the score a target must keep (TargetSpec.keep_score),
    any other name a field of the planner's config."""

    knob: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class LadderPoint:
    """One operating point: a label (e.g. 'qp30'), whether it is the default, and the
    settings and planner config that set it."""

    label: str
    main: bool
    settings: PlanSettings
    config: Any = None


@dataclass(frozen=True)
class PlannerEntry:
    """A registered planner. build(context, config) makes one for a stream; config_type is
    its config dataclass (None when it has none); repairable: re-encoding lower QP around
    lost targets suits it; needs_targets: it needs the original's detections on every
    frame (the others detect on their own, or not at all); listed: offered by name to users
    (--method, --methods, eval's default set); False for one that needs input only its caller
    has (a QP map file)."""

    name: str
    summary: str
    build: Callable[[PlanContext, Any], Planner]
    config_type: type | None
    ladder: RateLadder
    repairable: bool = False
    needs_targets: bool = False
    listed: bool = True

    def default_config(self) -> Any:
        return self.config_type() if self.config_type is not None else None

    def points(self, settings: PlanSettings, config: Any = None, full: bool = True) -> list[LadderPoint]:
        """The ladder's points (with the default point always included); only the default
        point when not full."""
        config = config if config is not None else self.default_config()
        knob = self.ladder.knob
        if knob == "qp":
            default = settings.qp
        elif knob == "keep_score":
            default = settings.targets.min_score
        else:
            default = getattr(config, knob)
        values = sorted({*(self.ladder.values if full else ()), default})
        if knob == "keep_score":
            values.sort(reverse=True)
        points = []
        for value in values:
            if knob == "qp":
                point = LadderPoint(f"qp{value}", value == default, dataclasses.replace(settings, qp=value),
                                    config)
            elif knob == "keep_score":
                targets = dataclasses.replace(settings.targets, keep_score=value)
                point = LadderPoint(f"keep{value:g}", value == default,
                                    dataclasses.replace(settings, targets=targets), config)
            else:
                point = LadderPoint(f"{knob.split('_')[0]}{value}", value == default, settings,
                                    dataclasses.replace(config, **{knob: value}))
            points.append(point)
        return points


PLANNERS: Registry[PlannerEntry] = Registry("planner")


def register_planner(name: str, *, summary: str, ladder: RateLadder, config_type: type | None = None,
                     repairable: bool = False, needs_targets: bool = False,
                     listed: bool = True) -> Callable[[type], type]:
    """Class decorator: register a planner class whose __init__ takes (context, config)."""

    def register(cls: type) -> type:
        PLANNERS.register(name, PlannerEntry(name, summary, cls, config_type, ladder, repairable,
                                             needs_targets, listed))
        return cls

    return register


def listed_planners() -> list[str]:
    """The planners users choose by name, in the order they are shown."""
    return [name for name, entry in PLANNERS.items() if entry.listed]


def planner_entry(name: str) -> PlannerEntry:
    """The registered planner called `name`; InputError naming the choices otherwise."""
    return PLANNERS.entry(name)


def build_planner(name: str, context: PlanContext, config: Any = None) -> Planner:
    """A ready planner for one stream."""
    entry = planner_entry(name)
    if config is not None and entry.config_type is not None and not isinstance(config, entry.config_type):
        raise TypeError(f"planner {name!r} takes a {entry.config_type.__name__}, got {type(config).__name__}")
    return entry.build(context, config if config is not None else entry.default_config())


def plan_clip(name: str, frames: Sequence[np.ndarray] | np.ndarray, detector: Detector,
              settings: PlanSettings, targets: Sequence[Sequence[Detection]] | None = None,
              config: Any = None) -> list[FramePlan]:
    """Run planner `name` over an in-memory clip of (H, W, 3) frames in coding order (for
    tests and benchmarks; the pipeline streams instead). targets: per frame (default none)."""
    height, width = frames[0].shape[:2]
    planner = build_planner(name, PlanContext(width, height, detector, settings), config)
    targets = targets if targets is not None else [[] for _ in frames]
    return [planner.plan(FrameInput(index, frame, list(frame_targets), None, index % settings.gop == 0))
            for index, (frame, frame_targets) in enumerate(zip(frames, targets, strict=True))]
