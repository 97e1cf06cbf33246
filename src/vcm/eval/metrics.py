"""Picture-fidelity metrics comparing a decoded video with its original."""

import numpy as np


def luma_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of equal shape (e.g. (N, H, W) luma planes)."""
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))
