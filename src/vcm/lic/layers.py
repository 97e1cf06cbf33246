"""Building blocks of the learned codec: GDN, strided convolutions and residual adapters with a
spatial and a frequency branch.

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


SUBPIXEL_TAPS = torch.tensor([[4, 2, 0], [5, 3, 1]])  # [output phase, 3x3 offset] -> tap of the 5x5 kernel


def upsample_subpixel(conv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """`conv(x)` for a stride-2 5x5 transposed convolution made by `up`, computed as a 3x3
    convolution to 4x the channels and pixel_shuffle(2): the same numbers (to float rounding),
    about twice as fast on CPU where the output has few channels."""
    padded = F.pad(conv.weight, (0, 1, 0, 1))  # (in, out, 6, 6): tap 5 is zero
    rows, columns = SUBPIXEL_TAPS[:, None, :, None], SUBPIXEL_TAPS[None, :, None, :]
    weight = padded[:, :, rows, columns]  # (in, out, phase y, phase x, 3, 3)
    channels_in, channels_out = weight.shape[:2]
    weight = weight.permute(1, 2, 3, 0, 4, 5).reshape(4 * channels_out, channels_in, 3, 3)
    bias = None if conv.bias is None else conv.bias.repeat_interleave(4)
    return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=1), 2)


class FrequencyMask(nn.Module):
    """A learned gain per channel and spatial frequency: irfft2(rfft2(x) m), m (C, H, W/2 + 1)
    interpolated from `grid` (C, rows, columns) over the vertical frequency (-1/2 .. 1/2 cycles
    per sample) and the horizontal one (0 .. 1/2), so one mask fits features of any size."""

    def __init__(self, channels: int, rows: int = 8, columns: int = 5) -> None:
        super().__init__()
        self.grid = nn.Parameter(torch.zeros(1, channels, rows, columns))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        vertical = torch.fft.fftfreq(height, device=x.device) * 2  # -1 .. 1
        horizontal = torch.fft.rfftfreq(width, device=x.device) * 4 - 1  # 0 .. 1/2 -> -1 .. 1
        where = torch.stack(torch.meshgrid(horizontal, vertical, indexing="xy"), dim=-1)[None]
        mask = F.grid_sample(self.grid, where.to(self.grid.dtype), mode="bilinear", align_corners=True)
        spectrum = torch.fft.rfft2(x.float().contiguous(), norm="ortho")  # ~5x faster than channels-last
        return torch.fft.irfft2(spectrum * mask, s=(height, width), norm="ortho").to(x.dtype)


class Adapter(nn.Module):
    """x + B(relu(A(x))) [+ M(x)]: a spatial bottleneck, A a `kernel` x `kernel` convolution to
    `hidden` channels and B a 1x1 back, beside a frequency branch M (FrequencyMask) when
    `frequency`. B and M start at zero, so a new adapter leaves its frozen host unchanged."""

    def __init__(self, channels: int, hidden: int, *, frequency: bool, kernel: int = 3) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, kernel, padding=kernel // 2)
        self.expand = nn.Conv2d(hidden, channels, 1)
        self.frequency = FrequencyMask(channels) if frequency else None
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.expand(F.relu(self.reduce(x)))
        return out if self.frequency is None else out + self.frequency(x)
