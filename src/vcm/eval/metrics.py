"""Metrics comparing a decoded video with its original."""

from collections.abc import Sequence

import numpy as np

from vcm.models.detector import Detection
from vcm.targets import TargetSpec, survives


def luma_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of equal shape (e.g. (N, H, W) luma planes)."""
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def detections_kept(targets: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]],
                    spec: TargetSpec | None = None) -> tuple[int, int]:
    """(kept, total) over all frames of target detections that are still detected."""
    spec = spec or TargetSpec()
    kept = total = 0
    for frame_targets, frame_found in zip(targets, found, strict=True):
        for target in frame_targets:
            total += 1
            kept += survives(target, frame_found, spec)
    return kept, total
