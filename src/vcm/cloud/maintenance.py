"""Keeping storage and catalog in order: the report of bytes per tier, the consistency
check (missing, corrupt and orphaned objects) and the tiering policy."""

import hashlib
import time
from dataclasses import dataclass, field

from vcm.cloud.catalog import StoredObject
from vcm.cloud.system import System
from vcm.progress import ProgressCallback

DAY = 86400.0


def report(system: System) -> list[dict[str, object]]:
    """Per camera: hot_bytes, cold_bytes, segments, frames (and detections, first, last)."""
    return system.catalog.cameras()


@dataclass
class CheckResult:
    """Problems found; ok when there are none."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.orphans)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checked": self.checked, "missing": self.missing, "corrupt": self.corrupt,
                "orphans": self.orphans}


def check(system: System, progress: ProgressCallback | None = None) -> CheckResult:
    """Finish deletions a crash interrupted, then read every catalogued object back and
    compare its SHA-256; list stored objects that no catalog row names (orphans, e.g. left by
    a crash between store and commit)."""
    finish_deletions(system)
    result = CheckResult()
    items = system.catalog.objects()
    named: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        named.add((item.tier, item.key))
        where = f"{item.tier}:{item.key}"
        try:
            data = system.tiers[item.tier].get(item.key)
        except KeyError:
            result.missing.append(where)
        else:
            if hashlib.sha256(data).hexdigest() != item.sha256:
                result.corrupt.append(where)
        result.checked += 1
        if progress is not None:
            progress("check objects", index + 1, len(items))
    for tier_name, tier in system.tiers.items():
        result.orphans.extend(f"{tier_name}:{key}" for key, _ in tier.listing()
                              if (tier_name, key) not in named)
    return result


def finish_deletions(system: System) -> int:
    """Delete every object a deletion interrupted (by kill -9) left pending; returns how many."""
    pending = system.catalog.pending_deletions()
    if not pending:
        return 0
    live = {(item.tier, item.key) for item in system.catalog.objects()}  # stored again since
    for tier, key in pending:
        if (tier, key) not in live:
            system.tiers[tier].delete(key)
        system.catalog.deleted(tier, key)
    return len(pending)


def delete_segments(system: System, camera: str, seq: int | None = None) -> list[StoredObject]:
    """Delete segment `seq` of `camera` (all of its segments when seq is None): the catalog
    rows go in one transaction that records the objects as pending deletions, then the
    objects, then the records. A crash at any point leaves neither a row without its object
    nor an orphan: the next deletion (or `check`) finishes what is pending. Returns the
    objects deleted."""
    finish_deletions(system)
    removed = system.catalog.remove_segments(camera, seq)
    for item in removed:
        system.tiers[item.tier].delete(item.key)
        system.catalog.deleted(item.tier, item.key)
    renditions = system.data / "renditions" / camera
    for cached in renditions.glob("*.mp4" if seq is None else f"{seq:010d}.*.mp4"):
        cached.unlink(missing_ok=True)
    return removed


def move_to_cold(system: System, older_than_days: float, now: float | None = None) -> list[StoredObject]:
    """The tiering policy: move machine layers stored more than `older_than_days` ago from
    the hot to the cold tier (copy, then record, then delete). Returns the objects moved."""
    cutoff = (now if now is not None else time.time()) - older_than_days * DAY
    moved = []
    for item in system.catalog.objects():
        if item.tier != "hot" or item.stored > cutoff:
            continue
        system.tiers["cold"].put(item.key, system.tiers["hot"].get(item.key))
        system.catalog.move_object(item, "cold")
        system.tiers["hot"].delete(item.key)
        moved.append(item)
    return moved
