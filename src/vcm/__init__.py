"""vcm: video coding for machines.

The public API: read frames, detect objects, plan per-block QP maps, encode to a
standard HEVC/H.264 bitstream and decode it again.
"""

from vcm.codec import DecodedVideo, EncodeResult, QPMap, decode, encode, grid_shape
from vcm.errors import VcmError
from vcm.media import FrameSource, Video, fetch_sample, read_video
from vcm.models import Detection, load_detector

__version__ = "0.1.0"
__all__ = [
    "DecodedVideo",
    "Detection",
    "EncodeResult",
    "FrameSource",
    "QPMap",
    "VcmError",
    "Video",
    "decode",
    "encode",
    "fetch_sample",
    "grid_shape",
    "load_detector",
    "read_video",
]
