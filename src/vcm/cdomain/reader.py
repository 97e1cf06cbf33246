"""Per-frame picture types, motion-vector fields, residual energy and macroblock QPs of an
H.264 stream, streamed (only the previous decoded luma is kept).

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

from vcm.codec.qpmap import BLOCK_SIZE, grid_shape
from vcm.errors import InputError
from vcm.media.video import planes_of

CELL = 4  # pixels: the smallest H.264 partition side
MV_CODECS = ("h264", "mpeg4", "mpeg2video", "mpeg1video", "h263")


@dataclass(frozen=True)
class CompressedFrame:
    """One decoded picture's compressed-domain view. picture_type: 'I', 'P' or 'B'; mv:
    (rows, cols, 2) float32 (x, y) in pixels per 16x16 block, the area-weighted mean of its
    partitions' (source - destination) positions in the reference (a backward reference's
    vector negated; intra partitions and I-frames count as zero); residual_energy: (rows, cols)
    float32, per block the mean squared luma difference between the decoded picture and its
    motion-compensated prediction from the previous decoded picture (see residual_energy);
    qp: (rows, cols) int16, each macroblock's QP as the decoder read it (a skipped macroblock
    codes no QP and carries the one before it); rgb: (H, W, 3) uint8 decoded picture, only when
    asked for."""

    index: int
    picture_type: str
    mv: np.ndarray
    residual_energy: np.ndarray
    qp: np.ndarray
    rgb: np.ndarray | None = None


def motion_compensated(reference: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(H, W) uint8 prediction of a picture from the previous decoded luma `reference`: each
    past-referenced partition copied from its source position (rounded to whole pixels, clipped
    to the frame); pixels no such partition covers (intra, or backward-predicted) are predicted
    by the co-located reference pixels. Vectorised on the 4x4 grid every H.264 partition covers."""
    height, width = reference.shape
    cells_y, cells_x = -(-height // CELL), -(-width // CELL)
    offsets = np.zeros((cells_y, cells_x, 2), dtype=np.int64)  # (dy, dx) source - destination
    past = vectors[vectors["source"] < 0] if len(vectors) else vectors
    if len(past):
        across, down = past["w"].astype(np.int64) // CELL, past["h"].astype(np.int64) // CELL
        counts = across * down
        owner = np.repeat(np.arange(len(past)), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        row = (past["dst_y"].astype(np.int64) - past["h"] // 2)[owner] // CELL + within // across[owner]
        col = (past["dst_x"].astype(np.int64) - past["w"] // 2)[owner] // CELL + within % across[owner]
        inside = (row >= 0) & (row < cells_y) & (col >= 0) & (col < cells_x)
        shift = np.stack([past["src_y"].astype(np.int64) - past["dst_y"],
                          past["src_x"].astype(np.int64) - past["dst_x"]], axis=1)[owner]
        offsets[row[inside], col[inside]] = shift[inside]
    per_pixel = offsets.repeat(CELL, axis=0).repeat(CELL, axis=1)[:height, :width]
    ys = np.clip(np.arange(height)[:, None] + per_pixel[..., 0], 0, height - 1)
    xs = np.clip(np.arange(width)[None, :] + per_pixel[..., 1], 0, width - 1)
    return reference[ys, xs]


def residual_energy(decoded: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """(rows, cols) float32 mean squared difference of two (H, W) luma pictures per 16x16 block."""
    height, width = decoded.shape
    rows, cols = grid_shape(width, height)
    squared = np.zeros((rows * BLOCK_SIZE, cols * BLOCK_SIZE))
    squared[:height, :width] = (decoded.astype(np.float64) - prediction) ** 2
    sums = squared.reshape(rows, BLOCK_SIZE, cols, BLOCK_SIZE).sum(axis=(1, 3))
    return (sums / _block_areas(width, height)).astype(np.float32)


def block_vectors(vectors: np.ndarray, width: int, height: int) -> np.ndarray:
    """(rows, cols, 2) float32 block means of FFmpeg's motion-vector records (AVMotionVector
    fields: source, w, h, dst_x, dst_y (partition centre), motion_x, motion_y, motion_scale)."""
    rows, cols = grid_shape(width, height)
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
    return (sums / _block_areas(width, height)[..., None]).astype(np.float32)


def _block_areas(width: int, height: int) -> np.ndarray:
    """(rows, cols) pixels of each 16x16 block inside the frame (edge blocks are cut)."""
    rows, cols = grid_shape(width, height)
    block_h = np.minimum(BLOCK_SIZE, height - np.arange(rows) * BLOCK_SIZE)
    block_w = np.minimum(BLOCK_SIZE, width - np.arange(cols) * BLOCK_SIZE)
    return block_h[:, None] * block_w[None, :]


def _block_qp(frame: av.VideoFrame, shape: tuple[int, ...]) -> np.ndarray:
    """(rows, cols) int16 macroblock QPs from the frame's encoding parameters (venc_params)."""
    params = frame.side_data.get("VIDEO_ENC_PARAMS")
    if params is None:
        raise InputError("the decoder exported no per-block QPs for this stream")
    qp = np.asarray(params.qp_map(), dtype=np.int16)
    if qp.shape != shape:
        raise InputError(f"per-block QPs come as {qp.shape} blocks, expected {shape}")
    return qp


def read_compressed(path: str | Path, *, with_rgb: bool = False) -> Iterator[CompressedFrame]:
    """The frames of the video at `path` in display order, one at a time (memory does not grow
    with length); `with_rgb` also converts each decoded picture to RGB. Raises InputError for a
    missing file, a non-video or a codec without exported motion vectors."""
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
        stream.codec_context.options = {"flags2": "+export_mvs", "export_side_data": "venc_params"}
        width, height = stream.codec_context.width, stream.codec_context.height
        previous: np.ndarray | None = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                side = frame.side_data.get("MOTION_VECTORS")
                vectors = side.to_ndarray() if side is not None else np.zeros(0)
                kind = PictureType(frame.pict_type).name
                luma = planes_of(frame.reformat(format="yuv420p"))[0].copy()
                if kind == "I" or previous is None:
                    energy = np.zeros(grid_shape(width, height), dtype=np.float32)
                else:
                    energy = residual_energy(luma, motion_compensated(previous, vectors))
                previous = luma
                yield CompressedFrame(index, kind, block_vectors(vectors, width, height), energy,
                                      _block_qp(frame, energy.shape),
                                      frame.to_ndarray(format="rgb24") if with_rgb else None)
        except av.error.FFmpegError as error:
            raise InputError(f"{path}: corrupt stream ({error})") from None
