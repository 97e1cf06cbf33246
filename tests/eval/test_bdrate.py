import pytest

from vcm.eval.bdrate import bd_rate, monotone_curve


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
