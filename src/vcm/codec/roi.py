"""Attach per-block QP offsets to frames as regions-of-interest side data.

libx264/libx265 read AVRegionOfInterest side data and turn each region's qoffset q
into a block QP offset of q * 51. One region per 16x16 block is created once, through
a chain of `addroi` filters; after that each frame only rewrites the offsets in place,
which costs well under a millisecond for a full map.
"""

import ctypes
from fractions import Fraction

import av
import numpy as np

from vcm.codec.options import ENCODER_QP
from vcm.codec.qpmap import BLOCK_SIZE

QOFFSET_SCALE = 51
# AVRegionOfInterest: uint32 self_size; int top, bottom, left, right; AVRational qoffset.
_FIELDS = 7
_TOP, _BOTTOM, _LEFT, _RIGHT, _NUM, _DEN = 1, 2, 3, 4, 5, 6


class RoiFrame:
    """A reusable yuv420p frame carrying one ROI region per 16x16 block.

    Encoders copy their input, so one frame object can carry every picture in turn.
    """

    def __init__(self, like: av.VideoFrame) -> None:
        self.width, self.height = like.width, like.height
        self.rows = -(-self.height // BLOCK_SIZE)
        self.cols = -(-self.width // BLOCK_SIZE)
        self.frame = self._frame_with_regions(like)
        self.frame.make_writable()
        self._side_data = self.frame.side_data[0]
        self._regions = np.frombuffer(bytes(self._side_data), dtype=np.int32).reshape(-1, _FIELDS)
        self._regions = self._regions.copy()
        if self._regions.shape[0] != self.rows * self.cols:
            raise RuntimeError("unexpected ROI side data layout")

    def _frame_with_regions(self, like: av.VideoFrame) -> av.VideoFrame:
        graph = av.filter.Graph()
        graph.threads = 1
        node = graph.add_buffer(
            width=like.width, height=like.height, format="yuv420p", time_base=Fraction(1, 1000)
        )
        for row in range(self.rows):
            for col in range(self.cols):
                x, y = col * BLOCK_SIZE, row * BLOCK_SIZE
                width = min(BLOCK_SIZE, self.width - x)
                height = min(BLOCK_SIZE, self.height - y)
                region = graph.add("addroi", f"x={x}:y={y}:w={width}:h={height}:qoffset=0:clear=0")
                node.link_to(region)
                node = region
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        like.pts = 0
        graph.push(like)
        return graph.pull()

    def load(self, picture: av.VideoFrame, block_qp: np.ndarray, encoder_qp: int) -> av.VideoFrame:
        """Copy `picture`'s pixels and the (rows, cols) block QPs into the carrier frame."""
        for target, source in zip(self.frame.planes, picture.planes, strict=True):
            rows = np.frombuffer(source, dtype=np.uint8).reshape(source.height, source.line_size)
            packed = np.zeros((target.height, target.line_size), dtype=np.uint8)
            packed[:, : target.width] = rows[:, : target.width]
            target.update(packed.tobytes())
        self._regions[:, _NUM] = block_qp.ravel().astype(np.int32) - encoder_qp
        self._regions[:, _DEN] = QOFFSET_SCALE
        payload = self._regions.tobytes()
        ctypes.memmove(self._side_data.buffer_ptr, payload, len(payload))
        return self.frame


class RoiPictures:
    """Turns (H, W, 3) uint8 RGB frames plus (rows, cols) block QPs into yuv420p frames
    carrying the QPs. Odd sizes are padded by one replicated pixel, as 4:2:0 needs."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.padded = (width + width % 2, height + height % 2)
        self._carrier: RoiFrame | None = None

    def picture(self, rgb: np.ndarray, block_qp: np.ndarray) -> av.VideoFrame:
        """The frame to send to an encoder opened with crf=ENCODER_QP (valid until the next call)."""
        if self.padded != (self.width, self.height):
            pad = ((0, self.padded[1] - self.height), (0, self.padded[0] - self.width), (0, 0))
            rgb = np.pad(rgb, pad, mode="edge")
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        picture = picture.reformat(format="yuv420p")
        if self._carrier is None:
            self._carrier = RoiFrame(picture)
        return self._carrier.load(picture, block_qp, ENCODER_QP)
