import pytest

from vcm.eval.bdrate import bd_metric, bd_rate, monotone_curve


def test_half_the_rate_is_minus_fifty_percent() -> None:
    assert bd_rate([100, 200, 400], [0.5, 0.7, 0.9], [50, 100, 200], [0.5, 0.7, 0.9]) == pytest.approx(-50)


def test_identical_curves_are_zero() -> None:
    assert bd_rate([100, 200], [0.5, 0.9], [100, 200], [0.5, 0.9]) == pytest.approx(0)


def test_noisy_metric_keeps_its_upper_envelope() -> None:
    metrics, _ = monotone_curve([100, 200, 300, 400], [0.6, 0.5, 0.8, 0.7])
    assert metrics.tolist() == [0.6, 0.8]


def test_saturated_or_disjoint_curves_have_no_bd_rate() -> None:
    assert bd_rate([100, 200], [1.0, 1.0], [50, 100], [0.5, 0.9]) is None
    assert bd_rate([100, 200], [0.1, 0.2], [50, 100], [0.5, 0.9]) is None


def test_bd_metric_is_the_mean_metric_change_at_equal_rate() -> None:
    rates, psnr = [0.1, 0.2, 0.4, 0.8], [28.0, 30.0, 32.0, 34.0]
    assert bd_metric(rates, psnr, rates, [p + 0.5 for p in psnr]) == pytest.approx(0.5)
    # twice the rate for the same PSNR: 2 dB less at equal rate (2 dB per doubling here),
    # over the rates both cover (0.2 .. 0.8)
    assert bd_metric(rates, psnr, [2 * r for r in rates], psnr) == pytest.approx(-2.0)
    assert bd_metric(rates, psnr, [10.0, 20.0], [40.0, 41.0]) is None
