"""The differentiable codec proxy: exactness of its parts, gradients, and calibration
against the real x265."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.codec import QPMap, encode
from vcm.media import rgb_to_yuv420
from vcm.preedit.proxy import (
    INTRA_ROUNDING,
    block_dct,
    block_idct,
    dct_matrix,
    proxy_code,
    proxy_code_inter,
    quantize,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)


def _tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255


def _spearman(a: list[float], b: list[float]) -> float:
    ranks = [np.argsort(np.argsort(values)) for values in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def test_dct_is_orthonormal_and_invertible() -> None:
    matrix = dct_matrix(8, torch.float64)
    assert torch.allclose(matrix @ matrix.T, torch.eye(8, dtype=torch.float64), atol=1e-12)
    plane = torch.rand(2, 1, 16, 24, dtype=torch.float64)
    assert torch.allclose(block_idct(block_dct(plane)), plane, atol=1e-12)


def test_colour_conversion_matches_the_encoder_input(frames: np.ndarray) -> None:
    frame = frames[0][:64, :64]
    ycbcr = rgb_to_ycbcr(_tensor(frame))
    luma = rgb_to_yuv420(frame)[0].astype(np.float32)
    assert np.abs(ycbcr[0, 0].numpy() - luma).max() <= 1.0
    assert torch.allclose(ycbcr_to_rgb(ycbcr), _tensor(frame), atol=1e-4)


def test_quantize_floors_forward_and_passes_gradients() -> None:
    coefficients = torch.tensor([-7.9, -0.5, 0.2, 0.7, 5.1], requires_grad=True)
    levels = quantize(coefficients, torch.tensor(2.0))
    expected = torch.sign(coefficients) * torch.floor(coefficients.abs() / 2 + INTRA_ROUNDING)
    assert torch.equal(levels, expected.detach())
    levels.sum().backward()
    assert torch.allclose(coefficients.grad, torch.full((5,), 0.5))


def test_soft_quantizer_gradient_is_small_mid_step_and_large_at_the_jumps() -> None:
    step = torch.tensor(2.0)
    # |c| / 2 + 1/3 = 0.5 + k (mid-step) and 1.0 + k (a jump between levels)
    mid = torch.tensor([1 / 3, 7 / 3, -13 / 3], requires_grad=True)
    jump = torch.tensor([4 / 3, 10 / 3, -16 / 3], requires_grad=True)
    for values in (mid, jump):
        levels = quantize(values, step, sharpness=3.0)
        assert torch.equal(levels, quantize(values, step).detach())
        levels.abs().sum().backward()
    assert (mid.grad.abs() < 0.2).all() and (jump.grad.abs() > 0.8).all()


@pytest.mark.parametrize("sharpness", [None, 3.0])
@pytest.mark.parametrize("qp", [0, 51])
@pytest.mark.parametrize("level", [0.0, 1.0])
def test_gradients_are_finite_at_the_extremes(qp: int, level: float, sharpness: float | None) -> None:
    image = torch.full((1, 3, 32, 48), level, requires_grad=True)
    output = proxy_code(image, torch.full((1, 2, 3), float(qp)), sharpness)
    (output.bits.sum() + (output.rgb - 0.5).pow(2).sum()).backward()
    assert torch.isfinite(output.bits).all() and torch.isfinite(image.grad).all()


def test_rate_falls_and_distortion_rises_with_qp(frames: np.ndarray) -> None:
    image = _tensor(frames[0][:128, :160])
    outputs = [proxy_code(image, torch.full((1, 8, 10), float(qp))) for qp in (20, 30, 40)]
    bits = [o.bits.item() for o in outputs]
    errors = [(o.rgb - image).pow(2).mean().item() for o in outputs]
    assert bits[0] > bits[1] > bits[2] and errors[0] < errors[1] < errors[2]


def test_per_block_qp_is_local(frames: np.ndarray) -> None:
    image = _tensor(frames[0][:64, :64])
    qp = torch.full((1, 4, 4), 45.0)
    qp[0, :2, :2] = 15
    error = (proxy_code(image, qp).rgb - image).pow(2).mean(dim=1)[0]
    assert error[:32, :32].mean() * 10 < error[32:, 32:].mean()


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="QP map shape"):
        proxy_code(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="inter proxy"):
        proxy_code_inter(torch.zeros(1, 3, 32, 40), torch.zeros(1, 3, 32, 40), torch.zeros(1, 2, 3))


def test_a_p_frame_pays_for_what_changed(frames: np.ndarray) -> None:
    """Consecutive frames of a static camera: the P-frame costs a fraction of an intra picture,
    next to nothing when the frame repeats, more when noise is added; the decoded P-frame's luma is
    close to its input."""
    qp = torch.full((1, 8, 10), 30.0)
    first, second = _tensor(frames[0][:128, :160]), _tensor(frames[1][:128, :160])
    reference = proxy_code(first, qp).rgb
    inter = proxy_code_inter(second, reference, qp)
    intra = proxy_code(second, qp)
    assert inter.bits.item() < 0.5 * intra.bits.item(), (inter.bits.item(), intra.bits.item())
    assert proxy_code_inter(reference, reference, qp).bits.item() < 1e-3 * intra.bits.item()
    noise = torch.randn(second.shape, generator=torch.Generator().manual_seed(0))
    noisy = (second + 0.03 * noise).clamp(0, 1)
    assert proxy_code_inter(noisy, reference, qp).bits.item() > 2 * inter.bits.item()
    assert (inter.rgb - second).pow(2).mean().item() < 2 * (intra.rgb - second).pow(2).mean().item()
    fine = proxy_code_inter(second, reference, torch.full((1, 8, 10), 10.0))
    assert (fine.luma - rgb_to_ycbcr(second)[:, :1]).pow(2).mean().sqrt().item() < 1.0  # 8-bit luma levels


# 192x192 crops of the sample: street, pavement, walls, people (frame, top, left)
RANK_CROPS = [(0, 0, 0), (0, 0, 320), (0, 192, 0), (0, 192, 320), (0, 384, 128), (0, 384, 576), (6, 96, 448),
              (11, 256, 96)]


def test_rate_ranks_images_like_real_x265_intra_bytes(tmp_path: Path, frames: np.ndarray) -> None:
    """At one QP, the proxy must tell which images cost more than others (a ranking by QP
    alone would say nothing about the images)."""
    real, proxy = [], []
    for index, (frame, top, left) in enumerate(RANK_CROPS):
        crop = np.ascontiguousarray(frames[frame, top:top + 192, left:left + 192])
        result = encode(crop[None], [QPMap(30)], tmp_path / f"{index}.mp4", gop=1)
        real.append(result.frames[0].bytes)
        proxy.append(proxy_code(_tensor(crop), torch.full((1, 12, 12), 30.0)).bits.item())
    assert len(set(real)) == len(real)  # different images, different costs
    assert _spearman(real, proxy) >= 0.9, (real, proxy)
