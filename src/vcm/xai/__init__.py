"""Importance maps: where the detector's evidence for a target lies."""

from vcm.xai.importance import block_sums, difference_map, selective_gradient

__all__ = ["block_sums", "difference_map", "selective_gradient"]
