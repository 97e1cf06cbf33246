"""Picture-fidelity metrics comparing a decoded video with its original."""

import numpy as np


def luma_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of equal shape (e.g. (N, H, W) luma planes)."""
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def luma_ms_ssim(original: np.ndarray, decoded: np.ndarray, batch: int = 4) -> float:
    """Mean over frames of MS-SSIM between (N, H, W) uint8 luma planes (1 when equal)."""
    import torch

    from vcm.preedit.losses import ms_ssim

    values = []
    with torch.no_grad():
        for start in range(0, len(original), batch):
            a, b = (torch.from_numpy(p[start:start + batch].astype(np.float32) / 255.0)[:, None]
                    for p in (original, decoded))
            values.append(ms_ssim(a, b))
    return float(torch.cat(values).mean())
