"""Difference images and selective backpropagation maps, summed over analysis blocks."""

import numpy as np
import torch

from vcm.models.detector import Detection, Detector


def difference_map(original: np.ndarray, degraded: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 x2 -> (H, W) float32 absolute difference summed over channels, in [0, 3]."""
    return np.abs(original.astype(np.float32) - degraded.astype(np.float32)).sum(axis=2) / 255.0


def selective_gradient(detector: Detector, frame: np.ndarray, target: Detection) -> np.ndarray:
    """(H, W) float32 |d score / d pixel| summed over channels, where score is the target's
    class score at its box only (other classes and boxes contribute nothing)."""
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255.0).requires_grad_(True)
    score = detector.target_score(image, target.box, target.class_id)
    (gradient,) = torch.autograd.grad(score, image)
    return gradient.abs().sum(dim=0).numpy()


def block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """(H, W) -> (ceil(H/block), ceil(W/block)) sums over block x block tiles (edges padded with 0)."""
    height, width = values.shape
    rows, cols = -(-height // block), -(-width // block)
    padded = np.zeros((rows * block, cols * block), dtype=np.float64)
    padded[:height, :width] = values
    return padded.reshape(rows, block, cols, block).sum(axis=(1, 3))
