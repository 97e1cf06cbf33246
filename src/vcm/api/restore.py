"""`vcm restore`: a camera's video over a time range, from the service.

Human-viewing quality where a restoration layer is stored (machine layer + restoration
layer, re-coded once at a uniform high quality), else the machine stream itself, joined
without re-coding. Whole segments overlapping [start, end) are returned.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcm.api.client import Client
from vcm.api.contract import MACHINE, RESTORATION
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
    with_layer = [item for item in listing if RESTORATION in item["layers"]]
    total = len(listing)

    def report(done: int) -> None:
        if progress is not None:
            progress("restore", done, total)

    if machine_only or not with_layer:
        def machine_layers() -> Iterator[bytes]:
            for index, item in enumerate(listing):
                yield client.layer(camera, item["seq"], MACHINE)
                report(index + 1)

        packets = concatenate(machine_layers(), out)
        return RestoreSummary(str(out), total, 0, packets, True)

    def frames() -> Iterator[np.ndarray]:
        for index, item in enumerate(listing):
            machine = client.layer(camera, item["seq"], MACHINE)
            stored = RESTORATION in item["layers"]
            layer = client.layer(camera, item["seq"], RESTORATION) if stored else None
            yield from segment_frames(machine, layer)
            report(index + 1)

    count = write_video(frames(), out, float(listing[0]["fps"]), codec=codec, qp=qp)
    return RestoreSummary(str(out), total, len(with_layer), count, False)
