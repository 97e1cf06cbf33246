"""Standard codec backend: per-block QP maps in, HEVC/H.264 bitstreams and statistics out."""

from vcm.codec.decoder import DecodedVideo, decode
from vcm.codec.encoder import Encoder, EncodeResult, FrameStats, encode
from vcm.codec.qpmap import BLOCK_SIZE, QP_MAX, QPMap, QPMapArray, grid_shape

__all__ = [
    "BLOCK_SIZE",
    "QP_MAX",
    "DecodedVideo",
    "EncodeResult",
    "Encoder",
    "FrameStats",
    "QPMap",
    "QPMapArray",
    "decode",
    "encode",
    "grid_shape",
]
