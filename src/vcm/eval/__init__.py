"""Evaluation for machines: task metrics on decoded video, the experiment runner, the report."""

from vcm.eval.bdrate import bd_rate
from vcm.eval.detection_ap import mean_average_precision

__all__ = ["bd_rate", "mean_average_precision"]
