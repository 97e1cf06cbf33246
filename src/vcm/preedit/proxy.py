"""A differentiable proxy of an intra block-transform coder (HEVC/H.264-like), in PyTorch.

Pure functions on tensors. Shapes: images (B, 3, H, W) RGB in [0, 1]; planes (B, 1, H, W)
in 8-bit sample units (0..255); per-block QP maps (B, rows, cols) over 16x16 blocks.
Rounding and flooring are exact in the forward pass and the identity in the backward
pass (straight-through); clipping passes gradients inside the pixel range only.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

BLOCK = 16  # QP map granularity, pixels
TRANSFORM = 8  # DCT size, pixels
INTRA_ROUNDING = 1.0 / 3.0  # the coder's rounding offset for intra levels: floor(|c|/step + 1/3)
INTER_ROUNDING = 1.0 / 6.0  # and for inter (prediction residual) levels
LIKELIHOOD_FLOOR = 1e-9

# BT.601 limited range, as the encoder's input conversion: [Y, Cb, Cr] = M @ [R, G, B] + offset.
_RGB_TO_YCBCR = torch.tensor([[65.481, 128.553, 24.966],
                              [-37.797, -74.203, 112.0],
                              [112.0, -93.786, -18.214]])
_YCBCR_OFFSET = torch.tensor([16.0, 128.0, 128.0])


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """Floor forward, identity backward."""
    return x + (torch.floor(x) - x).detach()


def clip_ste(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp forward; gradient 1 inside [low, high] and 0 outside (as torch.clamp)."""
    return torch.clamp(x, low, high)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 3, H, W) Y, Cb, Cr in 8-bit units (BT.601 limited)."""
    matrix = _RGB_TO_YCBCR.to(rgb)
    return torch.einsum("ij,bjhw->bihw", matrix, rgb) + _YCBCR_OFFSET.to(rgb).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_ycbcr: 8-bit Y, Cb, Cr -> RGB in [0, 1] (not clipped)."""
    inverse = torch.linalg.inv(_RGB_TO_YCBCR.to(torch.float64)).to(ycbcr)
    return torch.einsum("ij,bjhw->bihw", inverse, ycbcr - _YCBCR_OFFSET.to(ycbcr).view(1, 3, 1, 1))


def subsample_420(chroma: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H/2, W/2) by 2x2 averaging (H, W even)."""
    return F.avg_pool2d(chroma, 2)


def upsample_420(chroma: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, 2h, 2w), bilinear."""
    return F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)


def dct_matrix(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The orthonormal DCT-II matrix (size, size): coefficients = D @ x."""
    index = torch.arange(size, dtype=torch.float64)
    matrix = torch.cos(torch.pi * (2 * index[None, :] + 1) * index[:, None] / (2 * size))
    matrix[0] /= torch.sqrt(torch.tensor(2.0, dtype=torch.float64))
    return (matrix * torch.sqrt(torch.tensor(2.0 / size, dtype=torch.float64))).to(dtype)


def to_blocks(plane: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, H, W) with H, W multiples of size -> (B, H/size, W/size, size, size)."""
    batch, _, height, width = plane.shape
    return plane.reshape(batch, height // size, size, width // size, size).permute(0, 1, 3, 2, 4)


def from_blocks(blocks: torch.Tensor) -> torch.Tensor:
    """Inverse of to_blocks."""
    batch, rows, cols, size, _ = blocks.shape
    return blocks.permute(0, 1, 3, 2, 4).reshape(batch, 1, rows * size, cols * size)


def block_dct(plane: torch.Tensor, size: int = TRANSFORM) -> torch.Tensor:
    """(B, 1, H, W) -> (B, H/size, W/size, size, size) orthonormal 2-D DCT per block."""
    matrix = dct_matrix(size, plane.dtype).to(plane.device)
    return matrix @ to_blocks(plane, size) @ matrix.T


def block_idct(coefficients: torch.Tensor) -> torch.Tensor:
    """Inverse of block_dct -> (B, 1, H, W)."""
    matrix = dct_matrix(coefficients.shape[-1], coefficients.dtype).to(coefficients.device)
    return from_blocks(matrix.T @ coefficients @ matrix)


def qstep(qp: torch.Tensor) -> torch.Tensor:
    """Quantiser step of a QP: 1 at QP 4, doubling every 6 QP (H.264/HEVC)."""
    return 2.0 ** ((qp - 4.0) / 6.0)


def steps_per_transform(qp_blocks: torch.Tensor, transform_px: int, block_px: int = BLOCK) -> torch.Tensor:
    """(B, rows, cols) QP per block_px block -> (B, R, C, 1, 1) step per transform block of
    transform_px (block_px must be a multiple of transform_px)."""
    repeat = block_px // transform_px
    expanded = qp_blocks.repeat_interleave(repeat, dim=1).repeat_interleave(repeat, dim=2)
    return qstep(expanded.float())[..., None, None]


def soft_floor(x: torch.Tensor, sharpness: float) -> torch.Tensor:
    """A smooth staircase through floor(x) at the middle of each step (Agustsson & Theis'
    soft rounding of x - 1/2): slope about 1.7 at the jumps and 0.3 mid-step for sharpness 3."""
    shifted = x - 0.5
    base = torch.floor(shifted)
    return base + 0.5 + 0.5 * torch.tanh(sharpness * (shifted - base - 0.5)) / torch.tanh(
        torch.tensor(sharpness / 2))


def quantize(coefficients: torch.Tensor, steps: torch.Tensor, sharpness: float | None = None,
             rounding: float = INTRA_ROUNDING) -> torch.Tensor:
    """Levels as the coder computes them: sign(c) * floor(|c| / step + rounding). Forward exact;
    backward the identity (straight-through), or with `sharpness` the gradient of soft_floor,
    which sees that detail inside a quantiser step is lost anyway (for training)."""
    scaled = coefficients.abs() / steps + rounding
    if sharpness is None:
        return torch.sign(coefficients) * floor_ste(scaled)
    soft = soft_floor(scaled, sharpness)
    return torch.sign(coefficients) * (torch.floor(scaled) + soft - soft.detach())


def laplace_bits(levels: torch.Tensor) -> torch.Tensor:
    """Entropy estimate of quantized levels (B, R, C, n, n): each of the n x n frequencies
    gets a zero-mean Laplace density whose scale is that frequency's mean |level| in the
    image; a level costs -log2 of the density's mass on [level - 1/2, level + 1/2].
    Returns bits per image, shape (B,)."""
    scale = levels.abs().mean(dim=(1, 2), keepdim=True).clamp_min(0.05)

    def cdf(x: torch.Tensor) -> torch.Tensor:
        return 0.5 + 0.5 * torch.sign(x) * (1 - torch.exp(-x.abs() / scale))

    mass = (cdf(levels + 0.5) - cdf(levels - 0.5)).clamp_min(LIKELIHOOD_FLOOR)
    return -torch.log2(mass).sum(dim=(1, 2, 3, 4))


@dataclass
class ProxyOutput:
    """rgb: (B, 3, H, W) reconstruction in [0, 1]; bits: (B,) rate estimate; luma: (B, 1, H, W)
    reconstructed Y in 8-bit units."""

    rgb: torch.Tensor
    bits: torch.Tensor
    luma: torch.Tensor


def _code_plane(plane: torch.Tensor, qp_blocks: torch.Tensor, block_px: int,
                sharpness: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Transform, quantize, dequantize, inverse transform one plane; the DC levels are
    coded as differences from the left neighbour (as prediction would)."""
    coefficients = block_dct(plane - 128.0)
    steps = steps_per_transform(qp_blocks, TRANSFORM, block_px)
    levels = quantize(coefficients, steps, sharpness)
    dc = levels[..., :1, :1]
    predicted = torch.cat([dc[:, :, :1], dc[:, :, 1:] - dc[:, :, :-1]], dim=2)
    coded = torch.cat([torch.cat([predicted, levels[..., :1, 1:]], dim=-1), levels[..., 1:, :]], dim=-2)
    return block_idct(levels * steps) + 128.0, laplace_bits(coded)


def _code_residual(residual: torch.Tensor, qp_blocks: torch.Tensor, block_px: int,
                   sharpness: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Transform, quantize (inter rounding), dequantize, inverse transform one residual plane
    (8-bit units, zero-centred) -> (decoded residual, bits (B,))."""
    steps = steps_per_transform(qp_blocks, TRANSFORM, block_px)
    levels = quantize(block_dct(residual), steps, sharpness, INTER_ROUNDING)
    return block_idct(levels * steps), laplace_bits(levels)


def proxy_code(rgb: torch.Tensor, qp_blocks: torch.Tensor, sharpness: float | None = None) -> ProxyOutput:
    """Code (B, 3, H, W) RGB in [0, 1] under (B, rows, cols) per-16x16-block QPs, with
    rows, cols = ceil(H/16), ceil(W/16). Frames are padded by edge replication to whole
    blocks and cropped back. sharpness: the quantiser's gradient (see quantize)."""
    batch, _, height, width = rgb.shape
    rows, cols = -(-height // BLOCK), -(-width // BLOCK)
    if qp_blocks.shape != (batch, rows, cols):
        raise ValueError(f"QP map shape {tuple(qp_blocks.shape)} does not match ({batch}, {rows}, {cols})")
    padded = F.pad(rgb, (0, cols * BLOCK - width, 0, rows * BLOCK - height), mode="replicate")
    ycbcr = rgb_to_ycbcr(padded)
    luma, luma_bits = _code_plane(ycbcr[:, :1], qp_blocks, BLOCK, sharpness)
    chroma = subsample_420(ycbcr[:, 1:])
    planes, chroma_bits = [], torch.zeros_like(luma_bits)
    for channel in range(2):
        plane, bits = _code_plane(chroma[:, channel:channel + 1], qp_blocks, BLOCK // 2, sharpness)
        planes.append(plane)
        chroma_bits = chroma_bits + bits
    luma = clip_ste(luma, 0.0, 255.0)
    chroma_coded = clip_ste(upsample_420(torch.cat(planes, dim=1)), 0.0, 255.0)
    recon = clip_ste(ycbcr_to_rgb(torch.cat([luma, chroma_coded], dim=1)), 0.0, 1.0)
    return ProxyOutput(rgb=recon[..., :height, :width], bits=luma_bits + chroma_bits,
                       luma=luma[..., :height, :width])


def proxy_code_inter(rgb: torch.Tensor, reference: torch.Tensor, qp_blocks: torch.Tensor,
                     sharpness: float | None = None) -> ProxyOutput:
    """Code (B, 3, H, W) RGB in [0, 1] as a P-frame predicted from `reference` (the decoded
    previous frame, same shape) without motion: the Y, Cb, Cr differences are transformed and
    quantized with the inter rounding and their levels cost bits; what a static camera's
    P-frames pay for noise and flicker. H, W multiples of 16; qp_blocks as in proxy_code."""
    batch, _, height, width = rgb.shape
    if height % BLOCK or width % BLOCK or qp_blocks.shape != (batch, height // BLOCK, width // BLOCK):
        raise ValueError(f"inter proxy needs whole {BLOCK}x{BLOCK} blocks and a matching QP map, got "
                         f"{height}x{width} and {tuple(qp_blocks.shape)}")
    current, previous = rgb_to_ycbcr(rgb), rgb_to_ycbcr(reference)
    luma_residual, luma_bits = _code_residual(current[:, :1] - previous[:, :1], qp_blocks, BLOCK, sharpness)
    chroma_residual = subsample_420(current[:, 1:] - previous[:, 1:])
    planes, chroma_bits = [], torch.zeros_like(luma_bits)
    for channel in range(2):
        plane, bits = _code_residual(chroma_residual[:, channel:channel + 1], qp_blocks, BLOCK // 2,
                                     sharpness)
        planes.append(plane)
        chroma_bits = chroma_bits + bits
    luma = clip_ste(previous[:, :1] + luma_residual, 0.0, 255.0)
    chroma = clip_ste(previous[:, 1:] + upsample_420(torch.cat(planes, dim=1)), 0.0, 255.0)
    recon = clip_ste(ycbcr_to_rgb(torch.cat([luma, chroma], dim=1)), 0.0, 1.0)
    return ProxyOutput(rgb=recon, bits=luma_bits + chroma_bits, luma=luma)
