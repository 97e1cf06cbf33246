"""Building blocks of the learned codec: GDN, strided convolutions and residual adapters.

Shapes: feature maps (B, C, H, W).
"""

import torch
import torch.nn.functional as F
from torch import nn


class GDN(nn.Module):
    """Generalised divisive normalisation (Balle et al. 2016): y_i = x_i / sqrt(beta_i +
    sum_j gamma_ij x_j^2), or its inverse (multiply) for the synthesis side. beta and gamma
    are kept positive by squaring a bounded parameter."""

    def __init__(self, channels: int, *, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta.clamp(min=1e-3).pow(2)
        gamma = self.gamma.clamp(min=0).pow(2)
        norm = torch.sqrt(F.conv2d(x * x, gamma[:, :, None, None], beta))
        return x * norm if self.inverse else x / norm


def down(channels_in: int, channels_out: int, kernel: int = 5) -> nn.Conv2d:
    """A stride-2 convolution halving H and W."""
    return nn.Conv2d(channels_in, channels_out, kernel, stride=2, padding=kernel // 2)


def up(channels_in: int, channels_out: int, kernel: int = 5) -> nn.ConvTranspose2d:
    """A stride-2 transposed convolution doubling H and W."""
    return nn.ConvTranspose2d(channels_in, channels_out, kernel, stride=2, padding=kernel // 2,
                              output_padding=1)


class Adapter(nn.Module):
    """A residual bottleneck x + B(relu(A(x))) with A a 3x3 convolution to `hidden` channels
    and B a 1x1 back; B starts at zero, so a new adapter leaves its frozen host unchanged."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 3, padding=1)
        self.expand = nn.Conv2d(hidden, channels, 1)
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.expand(F.relu(self.reduce(x)))
