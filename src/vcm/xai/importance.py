"""Difference images and selective backpropagation maps, summed over analysis blocks."""

from collections.abc import Sequence

import numpy as np
import torch

from vcm.models.detector import Detection, Detector


def difference_map(original: np.ndarray, degraded: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 x2 -> (H, W) float32 absolute difference summed over channels, in [0, 3]."""
    return np.abs(original.astype(np.float32) - degraded.astype(np.float32)).sum(axis=2) / 255.0


def selective_gradient(detector: Detector, frame: np.ndarray, targets: Sequence[Detection]) -> np.ndarray:
    """(H, W) float32 |d sum_t log score_t / d pixel| summed over channels, from one forward
    and one backward pass; a target's score is its class score at its box only (other
    classes and boxes contribute nothing); the log weighs weak targets as much as strong ones."""
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255.0).requires_grad_(True)
    scores = detector.target_scores(image, targets)
    (gradient,) = torch.autograd.grad(scores.clamp(min=1e-6).log().sum(), image)
    return gradient.abs().sum(dim=0).numpy()


def block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """(H, W) -> (ceil(H/block), ceil(W/block)) sums over block x block tiles (edges padded with 0)."""
    height, width = values.shape
    rows, cols = -(-height // block), -(-width // block)
    padded = np.zeros((rows * block, cols * block), dtype=np.float64)
    padded[:height, :width] = values
    return padded.reshape(rows, block, cols, block).sum(axis=(1, 3))
