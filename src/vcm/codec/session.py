"""The final stream, coded alongside planning: what a decoder of the stream will get.

A `StreamSession` runs an encoder with exactly the options, picture conversion and GOP
of `Encoder`, and a decoder behind it. Fed the same frames and maps in coding order it
reproduces the final stream's pictures bit for bit (the encoder is deterministic and
every GOP is closed), so a planner can verify a frame on the true reconstruction and
predict the next frame from it. `recode` codes the last frame again under another map:
the GOP so far is replayed in a fresh encoder, since an encoder cannot take a frame back.
"""

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from vcm.codec.closing import CodecHolder
from vcm.codec.options import CODECS, encoder_options
from vcm.codec.qpmap import grid_shape
from vcm.codec.roi import RoiPictures
from vcm.codec.roundtrip import DECODERS
from vcm.errors import InputError


@dataclass(frozen=True)
class CodedPicture:
    """One coded frame: decoded (H, W, 3) uint8 RGB, its coded bytes and type 'I'/'P'."""

    rgb: np.ndarray
    bytes: int
    picture_type: str


class StreamSession(CodecHolder):
    """Codes (H, W, 3) uint8 RGB frames under (rows, cols) block QPs as the final stream
    does (one I-frame every `gop` frames, then P-frames) and decodes them. `replays`
    counts the frames coded again by `recode`. A context manager: close() releases the codecs."""

    CODEC_ATTRIBUTES = ("_encoder", "_decoder")

    def __init__(self, width: int, height: int, codec: str = "hevc", gop: int = 32) -> None:
        if codec not in CODECS:
            raise InputError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")
        self.width, self.height, self.codec, self.gop = width, height, codec, gop
        self.rows, self.cols = grid_shape(width, height)
        self._pictures = RoiPictures(width, height)
        self._history: list[tuple[np.ndarray, np.ndarray]] = []  # this GOP's frames and maps
        self._coded = 0
        self.replays = 0
        self._open()

    def _open(self) -> None:
        self._encoder = av.CodecContext.create(CODECS[self.codec], "w")
        self._encoder.width, self._encoder.height = self._pictures.padded
        self._encoder.pix_fmt = "yuv420p"
        self._encoder.time_base = Fraction(1, 25)
        self._encoder.options = encoder_options(self.codec, self.gop)
        self._encoder.open()
        self._decoder = av.CodecContext.create(DECODERS[self.codec], "r")
        self._pts = 0

    @property
    def next_is_intra(self) -> bool:
        """The next frame starts a GOP."""
        return self._coded % self.gop == 0

    def code(self, rgb: np.ndarray, block_qp: np.ndarray) -> CodedPicture:
        """Code the next frame of the stream and return what the decoder gets."""
        if block_qp.shape != (self.rows, self.cols):
            raise InputError(f"QP map shape {block_qp.shape} does not match ({self.rows}, {self.cols})")
        if self.next_is_intra:
            self._history.clear()
        self._history.append((rgb.copy(), block_qp.copy()))
        self._coded += 1
        return self._push(rgb, block_qp)

    def recode(self, rgb: np.ndarray, block_qp: np.ndarray) -> CodedPicture:
        """Replace the last coded frame by `rgb` under `block_qp` (the GOP so far is coded
        again in a fresh encoder) and return what the decoder now gets."""
        if not self._history:
            raise RuntimeError("recode before any frame was coded")
        earlier = self._history[:-1]
        self._history = []
        self._coded -= len(earlier) + 1
        self._open()
        for old_rgb, old_qp in earlier:
            self.code(old_rgb, old_qp)
        self.replays += len(earlier)
        return self.code(rgb, block_qp)

    def _push(self, rgb: np.ndarray, block_qp: np.ndarray) -> CodedPicture:
        frame = self._pictures.picture(rgb, block_qp)
        frame.pts = self._pts
        frame.pict_type = av.video.frame.PictureType.NONE
        self._pts += 1
        packets = self._encoder.encode(frame)
        decoded: list[av.VideoFrame] = []
        for packet in packets:
            decoded.extend(self._decoder.decode(packet))
        if len(packets) != 1 or len(decoded) != 1:
            raise RuntimeError(f"the session coded {len(packets)} packets into {len(decoded)} frames, "
                               "expected one each")
        kind = "I" if packets[0].is_keyframe else "P"
        picture = decoded[0].to_ndarray(format="rgb24")[: self.height, : self.width]
        return CodedPicture(picture, packets[0].size, kind)
