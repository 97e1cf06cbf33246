"""Streams without vcm's per-block QPs, as a user's FFmpeg or NVR would make them: the
reference codings vcm is compared with (x265/x264 at a CRF with default adaptive
quantisation)."""

import io
from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np

from vcm.codec.options import CODECS, crf_options
from vcm.errors import InputError


def encode_crf(frames: Iterable[np.ndarray], *, codec: str, gop: int, fps: float, crf: int) -> bytes:
    """(H, W, 3) uint8 RGB frames (even sides) coded at constant rate factor `crf` -> the MP4's bytes."""
    if codec not in CODECS:
        raise InputError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")
    if not 0 <= crf <= 51:
        raise InputError(f"crf must be in 0..51, got {crf}")
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream(CODECS[codec], rate=Fraction(fps).limit_denominator(1001),
                                      options=crf_options(codec, gop, crf))
        stream.pix_fmt = "yuv420p"
        for index, rgb in enumerate(frames):
            odd = rgb.ndim != 3 or rgb.shape[0] % 2 or rgb.shape[1] % 2
            if odd or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
                raise InputError(f"frame {index} is {rgb.shape} {rgb.dtype}; expected (H, W, 3) uint8 "
                                 "with even sides")
            if index == 0:
                stream.height, stream.width = rgb.shape[:2]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()
