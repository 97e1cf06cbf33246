"""The base codec: a mean-scale hyperprior (Balle et al. 2018, Minnen et al. 2018) with one
learned gain vector per quality level (Cui et al. 2021), so one network codes at every rate.

Images are (B, 3, H, W) RGB in [0, 1] with H and W multiples of STRIDE; y is (B, M, H/16,
W/16) and z (B, N, H/64, W/64). Adapters plug in after each GDN: `encoder_adapter` (shared,
changes the bitstream) and `decoder_adapter` (per task, changes only the picture decoded).
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vcm.lic import entropy
from vcm.lic.layers import GDN, Adapter, down, up, upsample_subpixel

STRIDE = 64  # y is 16x smaller than the image and z 4x smaller than y


@dataclass(frozen=True)
class CodecShape:
    """channels: N (transforms and z); latent: M (y); qualities: rate points; lambdas: the
    distortion weight of each quality in bpp + lambda 255^2 MSE, lowest rate first."""

    channels: int = 48
    latent: int = 64
    lambdas: tuple[float, ...] = (0.00045, 0.0009, 0.0018, 0.0035, 0.0067, 0.013, 0.025)

    @property
    def qualities(self) -> int:
        return len(self.lambdas)


def make_adapter(shape: CodecShape, *, decoder: bool, hidden: int = 16) -> nn.ModuleList:
    """One adapter per GDN of a transform: three, on features at 1/2, 1/4 and 1/8 of the
    picture's side in the encoder (1/8, 1/4, 1/2 in the decoder). Only those at 1/4 and 1/8 have
    the frequency branch: at 1/2 its FFTs would take longer than the whole synthesis. The
    decoder's adapter at 1/2 works pixel by pixel (1x1): a 3x3 there cost ~20 ms a frame at
    768x576 on 2 cores, a fifth of the decoding."""
    sides = (8, 4, 2) if decoder else (2, 4, 8)
    return nn.ModuleList(Adapter(shape.channels, hidden, frequency=side >= 4,
                                 kernel=1 if decoder and side == 2 else 3) for side in sides)


class HyperpriorCodec(nn.Module):
    """forward (training, additive-noise proxy) -> reconstruction and bits; compress/decompress
    -> real range-coded strings."""

    def __init__(self, shape: CodecShape | None = None) -> None:
        super().__init__()
        self.shape = shape = shape or CodecShape()
        n, m = shape.channels, shape.latent
        self.analysis_convs = nn.ModuleList([down(3, n), down(n, n), down(n, n), down(n, m)])
        self.analysis_gdns = nn.ModuleList(GDN(n) for _ in range(3))
        self.synthesis_convs = nn.ModuleList([up(m, n), up(n, n), up(n, n), up(n, 3)])
        self.synthesis_gdns = nn.ModuleList(GDN(n, inverse=True) for _ in range(3))
        self.hyper_analysis = nn.Sequential(
            nn.Conv2d(m, n, 3, padding=1), nn.LeakyReLU(), down(n, n), nn.LeakyReLU(), down(n, n))
        self.hyper_synthesis = nn.Sequential(
            up(n, n), nn.LeakyReLU(), up(n, n * 3 // 2), nn.LeakyReLU(),
            nn.Conv2d(n * 3 // 2, 2 * m, 3, padding=1))
        self.z_density = entropy.FactorizedDensity(n)
        steps = torch.linspace(-1.0, 0.5, shape.qualities)  # log gains: coarser steps at low quality
        self.log_gain = nn.Parameter(steps[:, None].repeat(1, m).clone())
        self.log_inverse_gain = nn.Parameter(-steps[:, None].repeat(1, m).clone())

    def config(self) -> dict[str, object]:
        return asdict(self.shape)

    def analysis(self, x: torch.Tensor, quality: torch.Tensor,
                 adapter: nn.ModuleList | None = None) -> torch.Tensor:
        """(B, 3, H, W) and (B,) quality indices -> y (B, M, H/16, W/16), gained."""
        for index, conv in enumerate(self.analysis_convs):
            x = conv(x)
            if index < 3:
                x = self.analysis_gdns[index](x)
                if adapter is not None:
                    x = adapter[index](x)
        return x * torch.exp(self.log_gain[quality])[:, :, None, None]

    def synthesis(self, y_hat: torch.Tensor, quality: torch.Tensor,
                  adapter: nn.ModuleList | None = None) -> torch.Tensor:
        """Quantised y (B, M, h, w) -> picture (B, 3, 16 h, 16 w), not clamped."""
        x = y_hat * torch.exp(self.log_inverse_gain[quality])[:, :, None, None]
        for index, conv in enumerate(self.synthesis_convs):
            x = conv(x) if index < 3 else upsample_subpixel(conv, x)  # the same layer, faster to 3 channels
            if index < 3:
                x = self.synthesis_gdns[index](x)
                if adapter is not None:
                    x = adapter[index](x)
        return x

    def hyper(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        means, scales = self.hyper_synthesis(z_hat).chunk(2, dim=1)
        return means, F.softplus(scales) + entropy.SCALE_FLOOR

    def forward(self, x: torch.Tensor, quality: torch.Tensor, *, encoder_adapter: nn.ModuleList | None = None,
                decoder_adapters: dict[str, nn.ModuleList | None] | None = None
                ) -> dict[str, torch.Tensor | dict[str, torch.Tensor]]:
        """Training pass. Returns bits (B,) of y and z together (noise proxy), and `decoded`: a
        picture per entry of decoder_adapters ({'base': None} by default), from y rounded
        around its mean with a straight-through gradient."""
        y = self.analysis(x, quality, encoder_adapter)
        z = self.hyper_analysis(y)
        z_noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        means, scales = self.hyper(z_noisy)
        y_noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        bits = (-torch.log2(entropy.gaussian_likelihood(y_noisy, means, scales)).sum(dim=(1, 2, 3))
                - torch.log2(self.z_density(z_noisy)).sum(dim=(1, 2, 3)))
        y_hat = means + (y - means + (torch.round(y - means) - (y - means)).detach())
        adapters = decoder_adapters if decoder_adapters is not None else {"base": None}
        decoded = {name: self.synthesis(y_hat, quality, adapter) for name, adapter in adapters.items()}
        return {"bits": bits, "decoded": decoded}

    @torch.no_grad()
    def compress(self, x: torch.Tensor, quality: int,
                 encoder_adapter: nn.ModuleList | None = None) -> tuple[bytes, bytes]:
        """One padded image (1, 3, H, W) -> (z string, y string)."""
        y = self.analysis(x, torch.tensor([quality]), encoder_adapter)
        # the decoder's z is a plain contiguous tensor: the same layout gives the same scales bit for bit
        z_hat = torch.round(self.hyper_analysis(y)).clamp(-entropy.Z_RANGE, entropy.Z_RANGE).contiguous()
        z_string = entropy.encode_z(z_hat, self.z_density.probability_table())
        means, scales = self.hyper(z_hat)
        residuals = torch.round(y - means).clamp(-entropy.Y_RANGE, entropy.Y_RANGE)
        return z_string, entropy.encode_y(residuals, scales)

    @torch.no_grad()
    def decompress(self, z_string: bytes, y_string: bytes, size: tuple[int, int], quality: int,
                   decoder_adapter: nn.ModuleList | None = None) -> torch.Tensor:
        """Strings of a padded (H, W) image -> picture (1, 3, H, W) clamped to [0, 1]."""
        height, width = size
        z_shape = (self.shape.channels, height // STRIDE, width // STRIDE)
        z_hat = entropy.decode_z(z_string, z_shape, self.z_density.probability_table())
        means, scales = self.hyper(z_hat)
        y_hat = (entropy.decode_y(y_string, scales) + means).contiguous(memory_format=torch.channels_last)
        return self.synthesis(y_hat, torch.tensor([quality]), decoder_adapter).clamp(0, 1)


def pad_to_stride(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> replicate-padded right and bottom to multiples of STRIDE."""
    height, width = x.shape[-2:]
    return F.pad(x, (0, -width % STRIDE, 0, -height % STRIDE), mode="replicate")
