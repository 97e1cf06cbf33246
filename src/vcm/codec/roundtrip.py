"""Judge a QP map on what the real codec produces: encode a frame, decode it.

A frame is coded either as an I-frame, or as a P-frame predicted from a given
reference picture (the reference is coded first as an I-frame at a low QP, so the
P-frame sees almost exactly that picture). One persistent encoder/decoder pair
serves every check, which avoids opening a codec per candidate.
"""

from fractions import Fraction

import av
import numpy as np

from vcm.codec.closing import CodecHolder
from vcm.codec.options import CODECS, encoder_options
from vcm.codec.qpmap import grid_shape
from vcm.codec.roi import RoiPictures
from vcm.errors import InputError

DECODERS = {"hevc": "hevc", "h264": "h264"}
REFERENCE_QP = 12


class RoundTrip(CodecHolder):
    """Encode single frames under a (rows, cols) block QP map and decode them back.

    `run(rgb, block_qp, reference=None)` takes (H, W, 3) uint8 RGB frames and returns the
    decoded (H, W, 3) uint8 RGB frame: coded intra when `reference` is None, else as a
    P-frame predicted from `reference`. `checks` counts the calls; `last_bytes` is the
    coded size of the last checked frame. A context manager: close() releases the codecs.
    """

    CODEC_ATTRIBUTES = ("encoder", "decoder")

    def __init__(self, width: int, height: int, codec: str = "hevc") -> None:
        if codec not in CODECS:
            raise InputError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")
        self.width, self.height, self.codec = width, height, codec
        self.rows, self.cols = grid_shape(width, height)
        self._pictures = RoiPictures(width, height)
        self.encoder = av.CodecContext.create(CODECS[codec], "w")
        self.encoder.width, self.encoder.height = self._pictures.padded
        self.encoder.pix_fmt = "yuv420p"
        self.encoder.time_base = Fraction(1, 25)
        self.encoder.options = encoder_options(codec, gop=2)
        self.encoder.open()
        self.decoder = av.CodecContext.create(DECODERS[codec], "r")
        self._pts = 0
        self._reference_qp = np.full((self.rows, self.cols), REFERENCE_QP)
        self.checks = 0
        self.last_bytes = 0

    def run(self, rgb: np.ndarray, block_qp: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        if block_qp.shape != (self.rows, self.cols):
            raise InputError(f"QP map shape {block_qp.shape} does not match ({self.rows}, {self.cols})")
        if reference is not None:
            self._code(reference, self._reference_qp, intra=True)
            decoded = self._code(rgb, block_qp, intra=False)
        else:
            decoded = self._code(rgb, block_qp, intra=True)
        self.checks += 1
        return decoded

    def _code(self, rgb: np.ndarray, block_qp: np.ndarray, *, intra: bool) -> np.ndarray:
        frame = self._pictures.picture(rgb, block_qp)
        frame.pts = self._pts
        frame.pict_type = av.video.frame.PictureType.I if intra else av.video.frame.PictureType.NONE
        self._pts += 1
        decoded: list[av.VideoFrame] = []
        for packet in self.encoder.encode(frame):
            self.last_bytes = packet.size
            decoded.extend(self.decoder.decode(packet))
        if len(decoded) != 1:
            raise RuntimeError(f"round trip produced {len(decoded)} frames, expected 1")
        expected = "I" if intra else "P"
        if av.video.frame.PictureType(decoded[0].pict_type).name != expected:
            raise RuntimeError(f"round trip coded a {expected}-frame as another type")
        return decoded[0].to_ndarray(format="rgb24")[: self.height, : self.width]
