"""Evaluation for machines: task metrics on decoded video."""

from vcm.eval.metrics import detections_kept, luma_psnr

__all__ = ["detections_kept", "luma_psnr"]
