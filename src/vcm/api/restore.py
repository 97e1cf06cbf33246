"""`vcm restore`: a camera's video over a time range, from the service.

Human-viewing quality where a restoration layer is stored (machine layer + restoration
layer, re-coded once at a uniform high quality), else the machine stream itself, joined
without re-coding (re-coded when the segments differ in codec, as after an agent rerun
with another --codec). Whole segments overlapping [start, end) are returned; segments of
different sizes or frame rates cannot share one video and are refused with where they change.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcm.api.client import Client
from vcm.api.contract import FPS_TOLERANCE, MACHINE, RESTORATION
from vcm.api.playback import VIEW_QP, concatenate, segment_frames, write_video
from vcm.errors import InputError
from vcm.progress import ProgressCallback


@dataclass
class RestoreSummary:
    """What a restore wrote: segments, how many were restored from a restoration layer, frames."""

    path: str
    segments: int
    restored: int
    frames: int
    machine_only: bool

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def restore_video(client: Client, camera: str, out: Path, *, start: float | None = None,
                  end: float | None = None, machine_only: bool = False, codec: str = "h264",
                  qp: int = VIEW_QP, progress: ProgressCallback | None = None) -> RestoreSummary:
    """Write `camera`'s segments overlapping [start, end) to `out` (complete or not at all)."""
    listing = [item for item in client.segments(camera, start, end) if MACHINE in item["layers"]]
    if not listing:
        raise InputError(f"camera {camera} has no stored segments in the chosen range")
    check_one_picture_format(camera, listing)
    with_layer = [item for item in listing if RESTORATION in item["layers"]]
    total = len(listing)
    one_codec = len({item["codec"] for item in listing}) == 1

    def report(done: int) -> None:
        if progress is not None:
            progress("restore", done, total)

    if (machine_only or not with_layer) and one_codec:
        def machine_layers() -> Iterator[bytes]:
            for index, item in enumerate(listing):
                yield client.layer(camera, item["seq"], MACHINE)
                report(index + 1)

        packets = concatenate(machine_layers(), out)
        return RestoreSummary(str(out), total, 0, packets, True)

    def frames() -> Iterator[np.ndarray]:
        for index, item in enumerate(listing):
            machine = client.layer(camera, item["seq"], MACHINE)
            stored = RESTORATION in item["layers"] and not machine_only
            layer = client.layer(camera, item["seq"], RESTORATION) if stored else None
            yield from segment_frames(machine, layer)
            report(index + 1)

    count = write_video(frames(), out, float(listing[0]["fps"]), codec=codec, qp=qp)
    return RestoreSummary(str(out), total, 0 if machine_only else len(with_layer), count, machine_only)


def check_one_picture_format(camera: str, listing: list[dict[str, Any]]) -> None:
    """InputError naming the first segment whose size or frame rate differs from the one before."""
    for before, item in itertools.pairwise(listing):
        size_before, size = (before["width"], before["height"]), (item["width"], item["height"])
        rate_changed = abs(float(item["fps"]) - float(before["fps"])) > FPS_TOLERANCE * float(before["fps"])
        if size != size_before or rate_changed:
            raise InputError(
                f"camera {camera} changes from {size_before[0]}x{size_before[1]} at {before['fps']:g} "
                f"frames/s to {size[0]}x{size[1]} at {item['fps']:g} frames/s at segment {item['seq']} "
                f"(start {item['start']:.3f}); restore the two ranges separately (--to / --from "
                f"{item['start']:.3f})")
