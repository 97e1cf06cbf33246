"""Per-frame picture types and motion-vector fields of an H.264 stream, streamed.

FFmpeg exports motion vectors (`flags2 +export_mvs`, side data MOTION_VECTORS) for H.264,
MPEG-2/4 and a few others, not for HEVC; an HEVC stream is refused with a message that says
so (encode with `--codec h264` for compressed-domain analysis).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from vcm.codec.qpmap import BLOCK_SIZE
from vcm.errors import InputError

MV_CODECS = ("h264", "mpeg4", "mpeg2video", "mpeg1video", "h263")


@dataclass(frozen=True)
class CompressedFrame:
    """One decoded picture's compressed-domain view. picture_type: 'I', 'P' or 'B'; mv:
    (rows, cols, 2) float32 (x, y) in pixels per 16x16 block, the area-weighted mean of its
    partitions' (source - destination) positions in the reference (a backward reference's
    vector negated; intra partitions and I-frames count as zero)."""

    index: int
    picture_type: str
    mv: np.ndarray


def block_vectors(vectors: np.ndarray, width: int, height: int) -> np.ndarray:
    """(rows, cols, 2) float32 block means of FFmpeg's motion-vector records (AVMotionVector
    fields: source, w, h, dst_x, dst_y (partition centre), motion_x, motion_y, motion_scale)."""
    rows, cols = -(-height // BLOCK_SIZE), -(-width // BLOCK_SIZE)
    sums = np.zeros((rows, cols, 2), dtype=np.float64)
    if len(vectors):
        direction = np.where(vectors["source"] < 0, 1.0, -1.0)
        scale = np.maximum(vectors["motion_scale"], 1).astype(np.float64)
        area = vectors["w"].astype(np.float64) * vectors["h"]
        motion = np.stack([vectors["motion_x"] / scale, vectors["motion_y"] / scale], axis=1)
        weighted = motion * (direction * area)[:, None]
        row = np.clip(vectors["dst_y"] // BLOCK_SIZE, 0, rows - 1)
        col = np.clip(vectors["dst_x"] // BLOCK_SIZE, 0, cols - 1)
        np.add.at(sums, (row, col), weighted)
    block_h = np.minimum(BLOCK_SIZE, height - np.arange(rows) * BLOCK_SIZE)
    block_w = np.minimum(BLOCK_SIZE, width - np.arange(cols) * BLOCK_SIZE)
    return (sums / (block_h[:, None] * block_w[None, :])[..., None]).astype(np.float32)


def read_compressed(path: str | Path) -> Iterator[CompressedFrame]:
    """The frames of the video at `path` in display order, one at a time (memory does not grow
    with length). Raises InputError for a missing file, a non-video or a codec without exported
    motion vectors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise InputError(f"{path} is not a readable video ({error})") from None
    with container:
        if not container.streams.video:
            raise InputError(f"{path} has no video stream")
        stream = container.streams.video[0]
        name = stream.codec_context.name
        if name not in MV_CODECS:
            raise InputError(f"{path} is {name}: FFmpeg exports motion vectors only for "
                             f"{', '.join(MV_CODECS)}; encode with --codec h264 for compressed-domain "
                             "analysis")
        stream.codec_context.options = {"flags2": "+export_mvs"}
        width, height = stream.codec_context.width, stream.codec_context.height
        try:
            for index, frame in enumerate(container.decode(stream)):
                side = frame.side_data.get("MOTION_VECTORS")
                vectors = side.to_ndarray() if side is not None else np.zeros(0)
                yield CompressedFrame(index, PictureType(frame.pict_type).name,
                                      block_vectors(vectors, width, height))
        except av.error.FFmpegError as error:
            raise InputError(f"{path}: corrupt stream ({error})") from None
