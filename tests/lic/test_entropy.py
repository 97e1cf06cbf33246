"""The entropy models and their range coding (constriction), checked against first principles."""

import numpy as np
import torch

from vcm.lic import entropy


def test_factorized_density_is_a_distribution_over_the_integers() -> None:
    torch.manual_seed(0)
    density = entropy.FactorizedDensity(4)
    integers = torch.arange(-200, 201, dtype=torch.float32).view(1, 1, 1, -1).expand(1, 4, 1, -1)
    total = density(integers.contiguous()).sum(dim=-1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-3)
    table = density.probability_table()
    assert table.shape == (4, 2 * entropy.Z_RANGE + 1)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-9)


def test_gaussian_likelihood_matches_the_normal_cdf() -> None:
    value, mean, scale = torch.tensor([1.0]), torch.tensor([0.3]), torch.tensor([2.0])
    normal = torch.distributions.Normal(0.3, 2.0)
    expected = normal.cdf(torch.tensor(1.5)) - normal.cdf(torch.tensor(0.5))
    assert torch.allclose(entropy.gaussian_likelihood(value, mean, scale), expected, atol=1e-6)


def test_z_and_y_strings_round_trip_and_cost_what_the_model_says() -> None:
    rng = np.random.default_rng(0)
    density = entropy.FactorizedDensity(3)
    z = torch.from_numpy(rng.integers(-3, 4, (1, 3, 5, 7)).astype(np.float32))
    z_string = entropy.encode_z(z, density.probability_table())
    assert torch.equal(entropy.decode_z(z_string, (3, 5, 7), density.probability_table()), z)
    scales = torch.from_numpy(rng.uniform(0.2, 20, (1, 6, 8, 8)).astype(np.float32))
    residuals = torch.round(torch.randn(1, 6, 8, 8) * scales).clamp(-255, 255)
    y_string = entropy.encode_y(residuals, scales)
    assert torch.equal(entropy.decode_y(y_string, scales), residuals)
    snapped = torch.from_numpy(entropy.snap_scales(scales).reshape(scales.shape)).float()
    ideal_bits = -torch.log2(entropy.gaussian_likelihood(residuals, torch.zeros(()), snapped)).sum()
    assert 8 * len(y_string) < float(ideal_bits) * 1.05 + 64


def test_snapped_scales_never_shrink() -> None:
    scales = torch.tensor([0.05, 0.11, 0.5, 3.3, 70.0])
    snapped = entropy.snap_scales(scales)
    assert np.all(snapped[:-1] >= scales.numpy()[:-1] - 1e-9)
    assert snapped[-1] == entropy.SCALE_TABLE[-1]
