"""Image similarity measures and the pre-editor's training objective.

Shapes: images (B, 3, H, W) RGB in [0, 1]. MS-SSIM follows Wang et al. (2003): an
11-tap Gaussian window (sigma 1.5), five scales with the published weights (as many
scales as the image size allows, weights renormalised).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class LossWeights:
    """Weights of the objective's terms. rate: per unit of ln(proxy bits per pixel), so a
    1 % rate saving is worth rate x 0.01 at every QP, as in a BD-rate; fidelity: L1 (RGB) +
    (1 - luma MS-SSIM, the evaluation's measure) of the coded edit against the original;
    perceptual: EfficientNet-Lite0 feature distance; task: detector class-score distance
    weighted by the original's scores."""

    rate: float = 0.1
    fidelity: float = 1.0
    perceptual: float = 0.1
    task: float = 1.0


def feature_distance(extract: Callable[[torch.Tensor], Sequence[torch.Tensor]], x: torch.Tensor,
                     y: torch.Tensor) -> torch.Tensor:
    """Mean over layers of the mean squared difference of channel-normalised features -> (B,)."""
    distances = []
    for fx, fy in zip(extract(x), extract(y), strict=True):
        nx = fx / (fx.norm(dim=1, keepdim=True) + 1e-6)
        ny = fy / (fy.norm(dim=1, keepdim=True) + 1e-6)
        distances.append((nx - ny).pow(2).sum(dim=1).mean(dim=(1, 2)))
    return torch.stack(distances, dim=1).mean(dim=1)
