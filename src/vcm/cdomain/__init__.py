"""Compressed-domain analytics: what an H.264 stream already carries (picture types, motion
vectors, residuals, macroblock QPs, I-frames), and activity recognised and searched from it."""

from vcm.cdomain.reader import CompressedFrame, DecodedFrame, decode_with_vectors, read_compressed

__all__ = ["CompressedFrame", "DecodedFrame", "decode_with_vectors", "read_compressed"]
