"""Compressed-domain analytics: what an H.264 stream already carries (picture types, motion
vectors), read without running a model on decoded frames."""

from vcm.cdomain.reader import CompressedFrame, read_compressed

__all__ = ["CompressedFrame", "read_compressed"]
