"""H.264 renditions of stored segments for browsers (which do not play HEVC), made on
first request and cached under DATA/renditions (least recently used pruned past
CACHE_BYTES; not counted as stored data: any can be made again from the tiers)."""

import os
from pathlib import Path

from vcm.api.contract import MACHINE, RESTORATION
from vcm.api.playback import segment_frames, write_video
from vcm.cloud.ingest import Refused
from vcm.cloud.system import System

CACHE_BYTES = 1 << 30  # browser renditions kept under DATA/renditions (a cache, pruned LRU)


def rendition(system: System, camera: str, seq: int, kind: str) -> Path:
    """The H.264 MP4 of segment `seq` of `camera`: its machine stream, or with kind
    'restored' the restored video (the machine stream when no restoration layer is stored)."""
    machine = system.catalog.object(camera, seq, MACHINE)
    if machine is None:
        raise Refused(404, f"segment {seq} of {camera} has no machine layer")
    restoration = system.catalog.object(camera, seq, RESTORATION) if kind == "restored" else None
    version = machine.sha256[:12] + (f"-{restoration.sha256[:12]}" if restoration is not None else "")
    path = system.data / "renditions" / camera / f"{seq:010d}.{version}.mp4"
    try:
        os.utime(path)  # recently used: pruned last
        return path
    except FileNotFoundError:
        pass  # not made yet, or just pruned by another request
    path.parent.mkdir(parents=True, exist_ok=True)
    segment = system.catalog.segment(camera, seq)
    assert segment is not None
    try:
        machine_data = system.tiers[machine.tier].get(machine.key)
        layer_data = system.tiers[restoration.tier].get(restoration.key) if restoration else None
    except KeyError as missing:
        raise Refused(503, f"a stored object is missing: {missing}; run vcm storage check") from None
    write_video(segment_frames(machine_data, layer_data), path, segment.fps)
    prune(system.data / "renditions", CACHE_BYTES, keep=path)
    return path


def prune(folder: Path, limit: int, keep: Path) -> None:
    """Delete the least recently used renditions until the folder holds at most `limit` bytes
    (renditions are a cache: any of them can be made again from the tiers). Files other
    requests are still writing (dot names, vcm.atomic) are left alone, and files that vanish
    meanwhile (another request's prune or rename) are skipped."""
    entries = []
    for path in folder.rglob("*.mp4"):
        if path == keep or path.name.startswith("."):
            continue
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        entries.append((status.st_mtime, status.st_size, path))
    total = sum(size for _, size, _ in entries) + keep.stat().st_size
    for _, size, path in sorted(entries):
        if total <= limit:
            return
        total -= size
        path.unlink(missing_ok=True)
