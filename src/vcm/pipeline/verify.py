"""Checking a stream as it is coded: decode each packet, detect on the decoded frame,
and tell which targets survived."""

from dataclasses import dataclass

import av
import numpy as np

from vcm.codec.closing import CodecHolder
from vcm.codec.options import CODECS
from vcm.models.detector import Detection, Detector


@dataclass
class Checked:
    """One decoded frame. rgb: (H, W, 3) uint8; luma: (H, W) uint8 Y plane as decoded;
    found: the detector's output on it (None when the frame was not checked)."""

    rgb: np.ndarray
    luma: np.ndarray
    found: list[Detection] | None


class StreamDecoder(CodecHolder):
    """Decodes the encoder's packets in coding order (no B-frames: one frame per packet,
    in order), cropped to width x height; detects on the frames asked for. A context manager:
    close() releases the decoder."""

    CODEC_ATTRIBUTES = ("decoder",)

    def __init__(self, codec: str, width: int, height: int, detector: Detector,
                 extradata: bytes | None) -> None:
        if codec not in CODECS:
            raise ValueError(f"unknown codec {codec!r}")
        self.width, self.height, self.detector = width, height, detector
        self.decoder = av.CodecContext.create(codec, "r")
        if extradata:
            self.decoder.extradata = extradata
        self._want: list[bool] = []

    def feed(self, packet: av.Packet | None, detect: bool) -> list[Checked]:
        """Decode one packet (None flushes); `detect`: whether its frame is checked.
        Returns the frames that came out, in order."""
        if packet is not None:
            self._want.append(detect)
        out = []
        for frame in self.decoder.decode(packet):
            rgb = frame.to_ndarray(format="rgb24")[: self.height, : self.width]
            plane = frame.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            luma = rows[: self.height, : self.width].copy()
            found = self.detector.detect(rgb[None])[0] if self._want.pop(0) else None
            out.append(Checked(rgb, luma, found))
        return out
