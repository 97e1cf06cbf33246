"""Evaluation for machines: task metrics on decoded video, the experiment runner, the report."""

from vcm.eval.bdrate import bd_rate
from vcm.eval.detection_ap import mean_average_precision
from vcm.eval.metrics import luma_psnr

__all__ = ["bd_rate", "luma_psnr", "mean_average_precision"]
