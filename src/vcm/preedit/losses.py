"""The pre-editor's training objective (the metrics it uses live in vcm.media.quality).

Shapes: images (B, 3, H, W) RGB in [0, 1].
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from vcm.models.detector import Detector


@dataclass(frozen=True)
class LossWeights:
    """Weights of the objective's terms. rate: per unit of ln(proxy bits per pixel), so a
    1 % rate saving is worth rate x 0.01 at every QP, as in a BD-rate; fidelity: L1 (RGB) +
    (1 - luma MS-SSIM, the evaluation's measure) of the coded edit against the original;
    perceptual: EfficientNet-Lite0 feature distance; task: detector class-score distance
    weighted by the original's scores; vmaf: (100 - VMAF-NEG) / 100 of the coded edit's luma
    against the original's (vmaf_neg_distance); stability: on pairs of consecutive frames, the
    mean absolute change of the edit (edited - original, [0, 1] units) from one frame to the next,
    so that an edit does not flicker (what flickers costs P-frame bits and is seen)."""

    rate: float = 0.1
    fidelity: float = 1.0
    perceptual: float = 0.1
    task: float = 1.0
    vmaf: float = 0.0
    stability: float = 0.0


def feature_distance(extract: Callable[[torch.Tensor], Sequence[torch.Tensor]], x: torch.Tensor,
                     y: torch.Tensor) -> torch.Tensor:
    """Mean over layers of the mean squared difference of channel-normalised features -> (B,)."""
    distances = []
    for fx, fy in zip(extract(x), extract(y), strict=True):
        nx = fx / (fx.norm(dim=1, keepdim=True) + 1e-6)
        ny = fy / (fy.norm(dim=1, keepdim=True) + 1e-6)
        distances.append((nx - ny).pow(2).sum(dim=1).mean(dim=(1, 2)))
    return torch.stack(distances, dim=1).mean(dim=1)


def score_map_distance(detector: Detector, coded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Squared difference of the detector's class scores on the coded picture and on the
    original, weighted by the original's scores (what it detects there counts; empty
    background hardly does), summed over the output scales -> scalar."""
    with torch.no_grad():
        reference = detector.score_maps(original)
    distances = []
    for found, truth in zip(detector.score_maps(coded), reference, strict=True):
        distances.append((truth * (found - truth).pow(2)).sum() / (truth.sum() + 1.0))
    return torch.stack(distances).sum()


class VmafNegDistance(torch.nn.Module):
    """(100 - VMAF-NEG) / 100 per picture, differentiable (vmaf-torch: vmaf_v0.6.1neg, no motion
    feature, as for still crops); luma (N, 1, H, W) in [0, 255], H and W at least 32 -> (N,).
    vmaf-torch agrees with libvmaf within 0.5 points on decoded frames (tests/eval/test_vmaf.py)."""

    def __init__(self) -> None:
        super().__init__()
        from vmaf_torch import VMAF

        self.vmaf = VMAF(NEG=True, enable_motion=False, clip_score=False)

    def forward(self, coded_luma: torch.Tensor, original_luma: torch.Tensor) -> torch.Tensor:
        return (100.0 - self.vmaf(original_luma, coded_luma).reshape(-1)) / 100.0


def edit_flicker(original: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """(B, 6, H, W) two consecutive frames and their edits -> scalar, the mean absolute change of
    the edit from the first frame to the second ([0, 1] units)."""
    change = edited - original
    return (change[:, 3:] - change[:, :3]).abs().mean()
