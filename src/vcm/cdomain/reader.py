"""Per-frame picture types, motion-vector fields, residual energy and macroblock QPs of an
H.264 stream, streamed (only the previous decoded luma is kept).

FFmpeg exports motion vectors (`flags2 +export_mvs`, side data MOTION_VECTORS) for H.264,
MPEG-2/4 and a few others, not for HEVC; an HEVC stream is refused with a message that says
so (encode with `--codec h264` for compressed-domain analysis).
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.frame import PictureType

from vcm.codec.qpmap import BLOCK_SIZE, grid_shape
from vcm.codec.reading import open_video, video_frames
from vcm.errors import InputError
from vcm.media.video import planes_of

CELL = 4  # pixels: the smallest H.264 partition side
RgbPictures = Literal["none", "intra", "all"]
NO_VECTORS = np.zeros(0, dtype=[("source", "i4"), ("w", "u1"), ("h", "u1"), ("src_x", "i2"), ("src_y", "i2"),
                                 ("dst_x", "i2"), ("dst_y", "i2"), ("flags", "u8"), ("motion_x", "i4"),
                                 ("motion_y", "i4"), ("motion_scale", "u2")])  # AVMotionVector, none
MV_CODECS = ("h264", "mpeg4", "mpeg2video", "mpeg1video", "h263")


@dataclass(frozen=True)
class CompressedFrame:
    """One decoded picture's compressed-domain view. picture_type: 'I', 'P' or 'B'; mv:
    (rows, cols, 2) float32 (x, y) in pixels per block (16x16 unless asked otherwise), the
    area-weighted mean of its partitions' (source - destination) positions in the reference
    (a backward reference's vector negated; intra partitions and I-frames count as zero);
    residual_energy: (rows, cols) float32, per block the mean squared luma difference between
    the decoded picture and its motion-compensated prediction from the previous decoded
    picture (see residual_energy); qp: (ceil(H/16), ceil(W/16)) int16, each macroblock's QP
    as the decoder read it (a skipped macroblock codes no QP and carries the one before it);
    rgb: (H, W, 3) uint8 decoded picture, only when asked for (see read_compressed)."""

    index: int
    picture_type: str
    mv: np.ndarray
    residual_energy: np.ndarray
    qp: np.ndarray
    rgb: np.ndarray | None = None


def _partition_cells(records: np.ndarray, height: int, width: int) -> tuple[np.ndarray, ...]:
    """(owner, row, col): for every 4x4 cell inside the frame that a motion-vector record's
    partition covers, the record's index and the cell's position on the 4x4 grid."""
    across, down = records["w"].astype(np.int64) // CELL, records["h"].astype(np.int64) // CELL
    counts = across * down
    owner = np.repeat(np.arange(len(records)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    row = (records["dst_y"].astype(np.int64) - records["h"] // 2)[owner] // CELL + within // across[owner]
    col = (records["dst_x"].astype(np.int64) - records["w"] // 2)[owner] // CELL + within % across[owner]
    inside = (row >= 0) & (row < -(-height // CELL)) & (col >= 0) & (col < -(-width // CELL))
    return owner[inside], row[inside], col[inside]


def motion_compensated(reference: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(H, W) uint8 prediction of a picture from the previous decoded luma `reference`: each
    past-referenced partition copied from its source position (rounded to whole pixels, clipped
    to the frame); pixels no such partition covers (intra, or backward-predicted) are predicted
    by the co-located reference pixels. Vectorised on the 4x4 grid every H.264 partition covers."""
    height, width = reference.shape
    offsets = np.zeros((-(-height // CELL), -(-width // CELL), 2), dtype=np.int64)  # (dy, dx)
    past = vectors[vectors["source"] < 0] if len(vectors) else vectors
    if len(past):
        owner, row, col = _partition_cells(past, height, width)
        offsets[row, col, 0] = (past["src_y"].astype(np.int64) - past["dst_y"])[owner]
        offsets[row, col, 1] = (past["src_x"].astype(np.int64) - past["dst_x"])[owner]
    per_pixel = offsets.repeat(CELL, axis=0).repeat(CELL, axis=1)[:height, :width]
    ys = np.clip(np.arange(height)[:, None] + per_pixel[..., 0], 0, height - 1)
    xs = np.clip(np.arange(width)[None, :] + per_pixel[..., 1], 0, width - 1)
    return reference[ys, xs]


def residual_energy(decoded: np.ndarray, prediction: np.ndarray, block: int = BLOCK_SIZE) -> np.ndarray:
    """(ceil(H/block), ceil(W/block)) float32 mean squared difference of two (H, W) luma pictures
    per block."""
    height, width = decoded.shape
    difference = decoded.astype(np.float32) - prediction
    sums = _block_sums(difference * difference, block)
    return (sums / _block_areas(height, width, block)).astype(np.float32)


def block_vectors(vectors: np.ndarray, width: int, height: int, block: int = BLOCK_SIZE) -> np.ndarray:
    """(ceil(H/block), ceil(W/block), 2) float32: per block, the area-weighted mean (x, y) pixel
    motion of the partitions covering it, from FFmpeg's motion-vector records (AVMotionVector:
    source, w, h, dst_x, dst_y (partition centre), motion_x, motion_y, motion_scale); a backward
    reference's vector negated, uncovered (intra) area counted as zero."""
    cells = np.zeros((-(-height // CELL), -(-width // CELL), 2), dtype=np.float32)
    if len(vectors):
        factor = np.where(vectors["source"] < 0, 1.0, -1.0) / np.maximum(vectors["motion_scale"], 1)
        owner, row, col = _partition_cells(vectors, height, width)
        cells[row, col, 0] = (vectors["motion_x"] * factor)[owner]
        cells[row, col, 1] = (vectors["motion_y"] * factor)[owner]
    weighted = cells * _block_areas(height, width, CELL)[..., None]
    sums = _block_sums(weighted, block // CELL)
    return (sums / _block_areas(height, width, block)[..., None]).astype(np.float32)


def _block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """(R, C, ...) -> (ceil(R/block), ceil(C/block), ...) sums over square groups of `block`
    entries."""
    height, width = values.shape[:2]
    rows, cols = -(-height // block), -(-width // block)
    if rows * block != height or cols * block != width:
        padding = ((0, rows * block - height), (0, cols * block - width)) + ((0, 0),) * (values.ndim - 2)
        values = np.pad(values, padding)
    return values.reshape(rows, block, cols, block, *values.shape[2:]).sum(axis=(1, 3))


@functools.cache
def _block_areas(height: int, width: int, block: int) -> np.ndarray:
    """(ceil(H/block), ceil(W/block)) pixels of each block inside an H x W frame (edge blocks
    are cut)."""
    return _block_sums(np.ones((height, width), dtype=np.float32), block)


def _block_qp(frame: av.VideoFrame, shape: tuple[int, ...]) -> np.ndarray:
    """(rows, cols) int16 macroblock QPs from the frame's encoding parameters (venc_params)."""
    params = frame.side_data.get("VIDEO_ENC_PARAMS")
    if params is None:
        raise InputError("the decoder exported no per-block QPs for this stream")
    qp = np.asarray(params.qp_map(), dtype=np.int16)
    if qp.shape != shape:
        raise InputError(f"per-block QPs come as {qp.shape} blocks, expected {shape}")
    return qp


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded picture as the decoder gave it, with its motion-vector records (FFmpeg's
    AVMotionVector fields; empty on I-frames); features are computed from it only when asked."""

    index: int
    picture_type: str
    vectors: np.ndarray
    frame: av.VideoFrame

    @property
    def size(self) -> tuple[int, int]:
        return self.frame.width, self.frame.height

    def luma(self) -> np.ndarray:
        """(H, W) uint8 luma plane."""
        return planes_of(self.frame.reformat(format="yuv420p"))[0]

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB picture."""
        return self.frame.to_ndarray(format="rgb24")

    def motion(self, block: int = BLOCK_SIZE) -> np.ndarray:
        """(ceil(H/block), ceil(W/block), 2) float32 block motion (see block_vectors)."""
        return block_vectors(self.vectors, *self.size, block)

    def residual(self, previous: "DecodedFrame | None", block: int = BLOCK_SIZE) -> np.ndarray:
        """(ceil(H/block), ceil(W/block)) float32 residual energy against `previous` moved by this
        picture's vectors; zero on an I-frame or without a previous picture."""
        width, height = self.size
        if self.picture_type == "I" or previous is None:
            return np.zeros((-(-height // block), -(-width // block)), dtype=np.float32)
        return residual_energy(self.luma(), motion_compensated(previous.luma(), self.vectors), block)


def decode_with_vectors(path: str | Path) -> Iterator[DecodedFrame]:
    """The decoded pictures of the video at `path` in display order, with motion vectors and
    encoding parameters exported, one at a time. Raises InputError for a missing file, a
    non-video, a corrupt stream or a codec without exported motion vectors."""
    container, stream, name = open_video(path)
    codec = stream.codec_context.name
    if codec not in MV_CODECS:
        container.close()
        raise InputError(f"{name} is {codec}: FFmpeg exports motion vectors only for "
                         f"{', '.join(MV_CODECS)}; encode with --codec h264 for compressed-domain "
                         "analysis")
    stream.codec_context.options = {"flags2": "+export_mvs", "export_side_data": "venc_params"}
    for index, frame in enumerate(video_frames(container, stream, name)):
        side = frame.side_data.get("MOTION_VECTORS")
        vectors = side.to_ndarray() if side is not None else NO_VECTORS
        yield DecodedFrame(index, PictureType(frame.pict_type).name, vectors, frame)


def read_compressed(path: str | Path, *, rgb: RgbPictures = "none",
                    block: int = BLOCK_SIZE) -> Iterator[CompressedFrame]:
    """The frames of the video at `path` in display order, one at a time (memory does not grow
    with length); `rgb` also converts decoded pictures to RGB: "all", or "intra" (I-frames
    only); mv and residual_energy come per `block` x `block` pixels (16: macroblocks; 8, 4 for
    finer fields). Raises InputError as decode_with_vectors."""
    previous: DecodedFrame | None = None
    for decoded in decode_with_vectors(path):
        kind = decoded.picture_type
        yield CompressedFrame(decoded.index, kind, decoded.motion(block), decoded.residual(previous, block),
                              _block_qp(decoded.frame, grid_shape(*decoded.size)),
                              decoded.rgb() if rgb == "all" or (rgb == "intra" and kind == "I") else None)
        previous = decoded
