"""Adapters: identity when new, the frequency branch a real filter on the features' spectrum."""

import math

import torch

from vcm.lic.layers import Adapter, FrequencyMask, up, upsample_subpixel
from vcm.lic.model import CodecShape, HyperpriorCodec, make_adapter
from vcm.lic.train import parameter_count


def test_a_new_adapter_leaves_its_host_unchanged() -> None:
    x = torch.randn(2, 8, 12, 20)
    for frequency in (False, True):
        for kernel in (1, 3):
            assert torch.equal(Adapter(8, 4, frequency=frequency, kernel=kernel)(x), x)


def test_a_mask_of_ones_passes_every_frequency_at_any_size() -> None:
    mask = FrequencyMask(3)
    with torch.no_grad():
        mask.grid.fill_(1.0)
    for height, width in ((8, 8), (9, 14), (36, 48)):
        x = torch.randn(1, 3, height, width)
        assert torch.allclose(mask(x), x, atol=1e-5)


def test_a_low_pass_mask_removes_a_fine_stripe_and_keeps_a_coarse_one() -> None:
    mask = FrequencyMask(1, rows=8, columns=5)
    with torch.no_grad():
        mask.grid.zero_()
        mask.grid[..., 0] = 1.0  # horizontal frequency 0 kept, 1/8 and above (next grid column) gone
    columns = torch.arange(64, dtype=torch.float32)
    fine = torch.cos(math.pi * columns / 2).expand(1, 1, 16, 64)  # 1/4 cycle per sample
    flat = torch.ones(1, 1, 16, 64)
    assert mask(fine).abs().max() < 1e-4
    assert torch.allclose(mask(flat), flat, atol=1e-5)


def test_the_frequency_branch_sits_where_features_are_small() -> None:
    shape = CodecShape()
    encoder, decoder = make_adapter(shape, decoder=False), make_adapter(shape, decoder=True)
    assert [a.frequency is not None for a in encoder] == [False, True, True]  # 1/2, 1/4, 1/8
    assert [a.frequency is not None for a in decoder] == [True, True, False]  # 1/8, 1/4, 1/2
    assert [a.reduce.kernel_size for a in decoder] == [(3, 3), (3, 3), (1, 1)]  # pixel by pixel at 1/2
    share = parameter_count([decoder]) / parameter_count([HyperpriorCodec(shape)])
    assert share <= 0.05  # the budget per task


def test_the_subpixel_form_is_the_transposed_convolution() -> None:
    for channels_in, channels_out in ((8, 3), (5, 7)):
        conv = up(channels_in, channels_out)
        x = torch.randn(2, channels_in, 9, 13)
        assert torch.allclose(upsample_subpixel(conv, x), conv(x), atol=1e-5)
