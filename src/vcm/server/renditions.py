"""H.264 renditions of stored segments for browsers (which do not play HEVC), made on
first request and kept under DATA/renditions."""

from pathlib import Path

from vcm.cloud.ingest import Refused
from vcm.cloud.playback import segment_frames, write_video
from vcm.cloud.system import System


def rendition(system: System, camera: str, seq: int, kind: str) -> Path:
    """The H.264 MP4 of segment `seq` of `camera`: its machine stream, or with kind
    'restored' the restored video (the machine stream when no restoration layer is stored)."""
    machine = system.catalog.object(camera, seq, "machine")
    if machine is None:
        raise Refused(404, f"segment {seq} of {camera} has no machine layer")
    restoration = system.catalog.object(camera, seq, "restoration") if kind == "restored" else None
    used = "restored" if restoration is not None else "machine"
    path = system.data / "renditions" / camera / f"{seq:010d}.{used}.{machine.sha256[:12]}.mp4"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    segment = system.catalog.segment(camera, seq)
    assert segment is not None
    try:
        machine_data = system.tiers[machine.tier].get(machine.key)
        layer_data = system.tiers[restoration.tier].get(restoration.key) if restoration else None
    except KeyError as missing:
        raise Refused(503, f"a stored object is missing: {missing}; run vcm storage check") from None
    write_video(segment_frames(machine_data, layer_data), path, segment.fps)
    return path
