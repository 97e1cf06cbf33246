"""Picture-fidelity metrics comparing a decoded video with its original.

MS-SSIM follows Wang et al. (2003): an 11-tap Gaussian window (sigma 1.5), five scales
with the published weights (as many scales as the image size allows, weights
renormalised); it is differentiable, so pre-editor training uses it as a loss.
"""

import numpy as np
import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, SIGMA = 11, 1.5
C1, C2 = 0.01**2, 0.03**2


def _gaussian_window(channels: int, like: torch.Tensor) -> torch.Tensor:
    offsets = torch.arange(WINDOW, dtype=like.dtype, device=like.device) - WINDOW // 2
    taps = torch.exp(-(offsets**2) / (2 * SIGMA**2))
    taps = taps / taps.sum()
    return (taps[:, None] * taps[None, :]).expand(channels, 1, WINDOW, WINDOW).contiguous()


def _ssim_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, mean SSIM and mean contrast-structure term, each (B,)."""
    window = _gaussian_window(x.shape[1], x)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=x.shape[1])

    mean_x, mean_y = blur(x), blur(y)
    var_x = blur(x * x) - mean_x**2
    var_y = blur(y * y) - mean_y**2
    covariance = blur(x * y) - mean_x * mean_y
    contrast_structure = (2 * covariance + C2) / (var_x + var_y + C2)
    luminance = (2 * mean_x * mean_y + C1) / (mean_x**2 + mean_y**2 + C1)
    return (luminance * contrast_structure).mean(dim=(1, 2, 3)), contrast_structure.mean(dim=(1, 2, 3))


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-scale SSIM of two (B, C, H, W) images in [0, 1] -> (B,), 1 when equal.
    Needs H, W >= 11; uses every scale (up to five) at which the window still fits."""
    if min(x.shape[-2:]) < WINDOW:
        raise ValueError(f"MS-SSIM needs images of at least {WINDOW}x{WINDOW}, got {tuple(x.shape[-2:])}")
    scales = 1
    while scales < len(MS_SSIM_WEIGHTS) and min(x.shape[-2:]) // 2**scales >= WINDOW:
        scales += 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    factors = []
    for scale in range(scales):
        ssim, contrast_structure = _ssim_terms(x, y)
        factors.append(ssim if scale == scales - 1 else contrast_structure)
        if scale < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(factors, dim=1).clamp_min(1e-6)
    return torch.prod(stacked ** weights, dim=1)



def luma_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of equal shape (e.g. (N, H, W) luma planes),
    summed frame by frame so no float copy of the clip is made."""
    if original.shape != decoded.shape:
        raise ValueError(f"shapes differ: {original.shape} and {decoded.shape}")
    squared = sum(int(np.sum((a.astype(np.int32) - b) ** 2, dtype=np.int64))
                  for a, b in zip(np.reshape(original, (-1, *original.shape[-2:])),
                                  np.reshape(decoded, (-1, *decoded.shape[-2:])), strict=True))
    error = squared / max(original.size, 1)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def luma_ms_ssim(original: np.ndarray, decoded: np.ndarray, batch: int = 4) -> float:
    """Mean over frames of MS-SSIM between (N, H, W) uint8 luma planes (1 when equal)."""
    values = []
    with torch.no_grad():
        for start in range(0, len(original), batch):
            a, b = (torch.from_numpy(p[start:start + batch].astype(np.float32) / 255.0)[:, None]
                    for p in (original, decoded))
            values.append(ms_ssim(a, b))
    return float(torch.cat(values).mean())
