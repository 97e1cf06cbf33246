"""Retention: how long segments are kept, by camera and by what was detected in them, and
disk budgets per tier, as NVR users set them (keep segments with a person 30 days, others 7;
never more than 2 TB hot).

A policy is a TOML file:

    keep_days = 7            # every segment (absent: no age limit)
    [cameras]                # per camera, instead of keep_days
    gate = 14
    [classes]                # a segment holding a detection of the class (at the operating score)
    person = 30              #   is kept at least this long
    [budget]                 # per tier: beyond it, the segments due to expire first go first
    hot = "2 TiB"
    cold = "20 TiB"

Each segment is kept until start + max(its camera's days, the days of every class detected in
it). A tier over its budget loses whole segments in that order (earliest expiry, then
oldest), so a person is kept over an empty street of the same age. Deleting goes through
`delete_segments`: a kill -9 leaves nothing half-deleted.
"""

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcm.api.contract import check_name
from vcm.cloud.maintenance import DAY, delete_segments, finish_deletions
from vcm.cloud.storage import TIERS
from vcm.cloud.system import System
from vcm.errors import InputError
from vcm.progress import ProgressCallback
from vcm.tasks import DETECT_MIN_SCORE
from vcm.tomlfile import read_toml

UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


@dataclass(frozen=True)
class RetentionPolicy:
    """keep_days: days every segment is kept (None: no age limit); cameras: days per camera
    instead; classes: days a segment holding the class is kept at least; budget: bytes per tier."""

    keep_days: float | None = None
    cameras: Mapping[str, float] = field(default_factory=dict)
    classes: Mapping[str, float] = field(default_factory=dict)
    budget: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "RetentionPolicy":
        """The policy in TOML file `path`; InputError naming what is wrong."""
        raw = read_toml(path, "retention policy")
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "the retention policy") -> "RetentionPolicy":
        unknown = set(raw) - {"keep_days", "cameras", "classes", "budget"}
        if unknown:
            raise InputError(f"{where}: unknown setting {sorted(unknown)[0]!r} "
                             "(keep_days, cameras, classes, budget)")
        keep = raw.get("keep_days")
        cameras = {check_name(name): _days(days, f"{where}: cameras.{name}")
                   for name, days in _table(raw, "cameras", where).items()}
        classes = {name: _days(days, f"{where}: classes.{name}")
                   for name, days in _table(raw, "classes", where).items()}
        budget = {}
        for tier, size in _table(raw, "budget", where).items():
            if tier not in TIERS:
                raise InputError(f"{where}: budget for unknown tier {tier!r} (tiers: {', '.join(TIERS)})")
            budget[tier] = parse_bytes(size, f"{where}: budget.{tier}")
        return cls(None if keep is None else _days(keep, f"{where}: keep_days"), cameras, classes, budget)

    def keep_until(self, segment: Mapping[str, Any]) -> float:
        """Epoch seconds until which `segment` (a catalog summary) is kept; inf: no limit."""
        days = self.cameras.get(segment["camera"], self.keep_days)
        if days is None:
            return math.inf
        days = max([days, *(self.classes[name] for name in segment["classes"] if name in self.classes)])
        return segment["start"] + days * DAY


def _table(raw: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, Mapping):
        raise InputError(f"{where}: [{name}] must be a table")
    return table


def _days(value: Any, where: str) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise InputError(f"{where} must be a positive number of days, got {value!r}")
    return float(value)


def parse_bytes(value: Any, where: str) -> int:
    """A size: a whole number of bytes or text such as '500 MB' or '2 TiB'."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    pattern = r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*"
    match = re.fullmatch(pattern, value) if isinstance(value, str) else None
    if match is None or match.group(2).upper() not in UNITS or float(match.group(1)) <= 0:
        raise InputError(f"{where} must be a size such as 500 MB or 2 TiB, got {value!r}")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


@dataclass(frozen=True)
class Doomed:
    """A segment the policy deletes now, and the rule that deletes it."""

    camera: str
    seq: int
    start: float
    bytes: int
    rule: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def plan(system: System, policy: RetentionPolicy, now: float | None = None) -> list[Doomed]:
    """The segments `policy` deletes at `now` (default: the current time): the expired ones,
    then per tier over budget those due to expire first, oldest first."""
    now = time.time() if now is None else now
    summaries = system.catalog.segment_summaries(DETECT_MIN_SCORE)
    doomed, kept = [], []
    for segment in summaries:
        until = policy.keep_until(segment)
        if until <= now:
            days = (until - segment["start"]) / DAY
            doomed.append(_doomed(segment, f"age: older than {days:g} days"))
        else:
            kept.append((until, segment["start"], segment))
    kept.sort(key=lambda entry: (entry[0], entry[1]))
    for tier, limit in policy.budget.items():
        used = sum(segment["bytes"].get(tier, 0) for _, _, segment in kept)
        survivors = []
        for entry in kept:
            segment = entry[2]
            if used > limit and segment["bytes"].get(tier, 0) > 0:
                used -= segment["bytes"][tier]
                doomed.append(_doomed(segment, f"budget: {tier} tier over {limit} bytes"))
            else:
                survivors.append(entry)
        kept = survivors
    return doomed


def _doomed(segment: Mapping[str, Any], rule: str) -> Doomed:
    return Doomed(segment["camera"], segment["seq"], segment["start"], sum(segment["bytes"].values()), rule)


def prune(system: System, policy: RetentionPolicy, now: float | None = None,
          progress: ProgressCallback | None = None) -> list[Doomed]:
    """Delete what `plan` names (finishing any deletion a crash interrupted first); returns it."""
    finish_deletions(system)
    doomed = plan(system, policy, now)
    for index, segment in enumerate(doomed):
        delete_segments(system, segment.camera, segment.seq)
        if progress is not None:
            progress("prune", index + 1, len(doomed))
    return doomed
