"""Standard codec backend: per-block QP maps in, HEVC/H.264 bitstreams and statistics out."""

from vcm.codec.decoder import DecodedVideo, decode
from vcm.codec.encoder import Encoder, EncodeResult, FrameStats, encode
from vcm.codec.qpmap import BLOCK_SIZE, QP_MAX, QPMap, grid_shape, qp_maps_from_array

__all__ = [
    "BLOCK_SIZE",
    "QP_MAX",
    "DecodedVideo",
    "EncodeResult",
    "Encoder",
    "FrameStats",
    "QPMap",
    "decode",
    "encode",
    "grid_shape",
    "qp_maps_from_array",
]
