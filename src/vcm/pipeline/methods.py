"""Method names: a registered planner with optional modifiers, e.g. 'xai+privacy+preedit'.

The one place that parses and builds these names (CLI, pipeline and evaluation use it).
Modifiers edit the frames: 'privacy' (faces concealed, before planning) and 'preedit' (a
learned pre-editor, after planning, for the planned QP map); applied in that order whatever
order they are written in.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from vcm.errors import InputError
from vcm.planners import PlannerEntry, listed_planners, planner_entry

MODIFIERS = ("preedit", "privacy")


@dataclass(frozen=True)
class Method:
    """planner: a listed name in vcm.planners.PLANNERS; preedit/privacy: the modifiers."""

    planner: str
    preedit: bool = False
    privacy: bool = False

    @classmethod
    def parse(cls, name: str) -> "Method":
        """'fast+privacy' -> Method('fast', privacy=True); InputError naming the choices."""
        planner, *modifiers = name.strip().split("+")
        unknown = [m for m in modifiers if m not in MODIFIERS]
        if planner not in listed_planners() or unknown or len(set(modifiers)) != len(modifiers):
            raise InputError(f"unknown method {name!r}; choose from {', '.join(listed_planners())}, each "
                             "optionally "
                             f"with {' and/or '.join('+' + m for m in MODIFIERS)}")
        return cls(planner, "preedit" in modifiers, "privacy" in modifiers)

    @property
    def entry(self) -> PlannerEntry:
        return planner_entry(self.planner)

    def __str__(self) -> str:
        return self.planner + "".join(f"+{m}" for m in MODIFIERS if getattr(self, m))


def parse_methods(text: str | Sequence[str]) -> list[Method]:
    """A comma-separated list (or a sequence) of method names -> Methods; InputError on an
    unknown name or an empty list."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise InputError("no method given; choose from " + ", ".join(listed_planners()))
    return [Method.parse(name) for name in names]
