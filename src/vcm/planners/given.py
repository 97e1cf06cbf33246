"""The `given` planner: a user's QP map file, applied as it is (`vcm encode --qp-map`)."""

from dataclasses import dataclass

from vcm.codec.qpmap import QPMapArray
from vcm.errors import InputError
from vcm.planners.base import FrameInput, FramePlan, PlanContext
from vcm.planners.registry import RateLadder, register_planner


@dataclass(frozen=True)
class GivenMap:
    """path: a .npy file of integer QPs, (rows, cols) for every frame or (frames, rows, cols)
    one per frame, rows, cols = ceil(H/16), ceil(W/16)."""

    path: str = ""


@register_planner("given", summary="a QP map file applied as it is (--qp-map)", ladder=RateLadder("qp", ()),
                  config_type=GivenMap, listed=False)
class GivenPlanner:
    """Frame i gets the file's map i (or its one map)."""

    def __init__(self, context: PlanContext, config: GivenMap) -> None:
        if not config.path:
            raise InputError("planner 'given' needs a QP map file (vcm encode --qp-map FILE.npy)")
        self.maps = QPMapArray.load(config.path, context.width, context.height)

    def plan(self, frame: FrameInput) -> FramePlan:
        return FramePlan(frame.rgb, self.maps[frame.index])
