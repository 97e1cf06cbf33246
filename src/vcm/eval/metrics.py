"""Metrics comparing a decoded video with its original."""

from collections.abc import Sequence

import numpy as np

from vcm.models.detector import Detection, box_iou


def luma_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of equal shape (e.g. (N, H, W) luma planes)."""
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def is_kept(target: Detection, found: Sequence[Detection], *, min_score: float = 0.7,
            min_iou: float = 0.5) -> bool:
    """Whether `target` is still detected: same class, score >= min_score, IoU >= min_iou."""
    return any(d.class_id == target.class_id and d.score >= min_score
               and box_iou(d.box, target.box) >= min_iou for d in found)


def detections_kept(targets: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]],
                    *, min_score: float = 0.7, min_iou: float = 0.5) -> tuple[int, int]:
    """(kept, total) over all frames of target detections that are still detected."""
    kept = total = 0
    for frame_targets, frame_found in zip(targets, found, strict=True):
        for target in frame_targets:
            total += 1
            kept += is_kept(target, frame_found, min_score=min_score, min_iou=min_iou)
    return kept, total
