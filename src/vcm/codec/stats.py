"""What a coded file holds, read from its packets without keeping pictures (`vcm info`)."""

from pathlib import Path

from vcm.codec.decoder import decoded_frames
from vcm.codec.rates import bitrate_kbps
from vcm.rounding import rounded


def describe_stream(path: str | Path) -> dict[str, object]:
    """Codec, size, fps, frame count, picture types with the I-frames' indices, bytes and
    bitrate (kbit/s) of a coded file; InputError for a missing, non-video or corrupt file."""
    info, frames = decoded_frames(path, keep_frames=False, read_qp=False)
    types: dict[str, int] = {}
    intra_at: list[int] = []
    total_bytes = count = 0
    for record, _, _ in frames:
        types[record.picture_type] = types.get(record.picture_type, 0) + 1
        if record.picture_type == "I":
            intra_at.append(record.index)
        total_bytes += record.bytes
        count += 1
    return {
        "file": str(path), "codec": info.codec, "width": info.width, "height": info.height,
        "fps": info.fps, "frames": count, "picture_types": dict(sorted(types.items())),
        "i_frames_at": intra_at, "bytes": total_bytes,
        "bitrate_kbps": rounded(bitrate_kbps(total_bytes, count, info.fps), "kbps"),
    }
