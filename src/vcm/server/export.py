"""A camera's machine streams over a time range joined into one MP4 for download (the
viewer's export), without re-coding: what `vcm restore --machine` writes, made on the server."""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from vcm.api.contract import MACHINE
from vcm.api.playback import concatenate
from vcm.api.restore import check_one_picture_format
from vcm.atomic import private_folder
from vcm.cloud.ingest import Refused
from vcm.cloud.system import System
from vcm.errors import InputError

MAX_EXPORT_SEGMENTS = 2000  # about 1.8 hours at 3.2 s a segment; longer ranges: vcm restore
EXPORT_SEGMENTS = "X-Export-Segments"  # answer header: how many segments the file joins
STALE_EXPORT_S = 3600.0  # an export file this old was left by a stopped server


def export_machine(system: System, camera: str, start: float | None, end: float | None) -> tuple[Path, int]:
    """The machine streams of `camera`'s segments overlapping [start, end) joined into a
    temporary MP4 under DATA/exports (the caller deletes it once sent) -> (its path, segments).
    Refused 404 when there is none, 400 for more than MAX_EXPORT_SEGMENTS, 409 when the range
    changes codec, size or rate (vcm restore re-codes the first and splits the others)."""
    found = system.catalog.segments(camera, start, end, MAX_EXPORT_SEGMENTS + 1)
    if len(found) > MAX_EXPORT_SEGMENTS:
        raise Refused(400, f"the range holds more than {MAX_EXPORT_SEGMENTS} segments; export a shorter "
                      "one or use vcm restore")
    layers = system.catalog.layers(camera, found[0].seq, found[-1].seq) if found else {}
    stored = [(segment, layers[segment.seq][MACHINE]) for segment in found
              if MACHINE in layers.get(segment.seq, {})]
    if not stored:
        raise Refused(404, f"camera {camera} has no stored segments in the chosen range")
    try:
        check_one_picture_format(camera, [segment.to_dict() for segment, _ in stored])
    except InputError as error:
        raise Refused(409, str(error)) from None
    if len({segment.codec for segment, _ in stored}) > 1:
        raise Refused(409, f"camera {camera} changes codec in the range; vcm restore re-codes it into one "
                      "video")
    folder = system.data / "exports"
    private_folder(folder)
    for old in folder.glob("*.mp4"):  # left by a server stopped while sending
        if time.time() - old.stat().st_mtime > STALE_EXPORT_S:
            old.unlink(missing_ok=True)
    path = folder / f"{camera}-{secrets.token_hex(8)}.mp4"

    def machine_layers() -> Iterator[bytes]:
        for _, item in stored:
            try:
                yield system.tiers[item.tier].get(item.key)
            except KeyError:
                raise Refused(503, f"the {item.tier} tier lost {item.key}; run vcm storage check") from None

    concatenate(machine_layers(), path)
    return path, len(stored)
