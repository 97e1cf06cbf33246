"""Bjontegaard delta rate: the average bitrate difference at equal quality (or accuracy)."""

from collections.abc import Sequence

import numpy as np

GRID_POINTS = 200


def monotone_curve(rates: Sequence[float], metrics: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sort by rate and keep only points that raise the metric (the best accuracy reachable at
    or below each rate), so noisy task metrics give a curve that can be inverted.
    Returns (metrics, log rates), both increasing."""
    points = sorted((float(r), float(m)) for r, m in zip(rates, metrics, strict=True)
                    if r > 0 and np.isfinite(m))
    kept_metrics: list[float] = []
    kept_log_rates: list[float] = []
    for rate, metric in points:
        if not kept_metrics or metric > kept_metrics[-1]:
            kept_metrics.append(metric)
            kept_log_rates.append(float(np.log(rate)))
    return np.array(kept_metrics), np.array(kept_log_rates)


def bd_rate(reference_rate: Sequence[float], reference_metric: Sequence[float],
            test_rate: Sequence[float], test_metric: Sequence[float]) -> float | None:
    """Percent bitrate change of `test` vs `reference` at equal metric, averaged over the
    metric range both monotone curves cover, with piecewise-linear interpolation of
    log(rate). None when a curve has fewer than 2 increasing points or the ranges do not
    overlap (e.g. an accuracy saturated at 1.0)."""
    reference = monotone_curve(reference_rate, reference_metric)
    test = monotone_curve(test_rate, test_metric)
    if len(reference[0]) < 2 or len(test[0]) < 2:
        return None
    low = max(reference[0][0], test[0][0])
    high = min(reference[0][-1], test[0][-1])
    if high <= low:
        return None
    grid = np.linspace(low, high, GRID_POINTS)
    difference = np.interp(grid, *test) - np.interp(grid, *reference)
    return float((np.exp(difference.mean()) - 1) * 100)


def bd_metric(reference_rate: Sequence[float], reference_metric: Sequence[float],
              test_rate: Sequence[float], test_metric: Sequence[float]) -> float | None:
    """Metric change of `test` vs `reference` at equal rate (BD-PSNR in dB for PSNR), averaged
    over the log-rate range both monotone curves cover, with piecewise-linear interpolation of
    the metric. None when a curve has fewer than 2 increasing points or the ranges do not
    overlap."""
    reference_metrics, reference_log_rates = monotone_curve(reference_rate, reference_metric)
    test_metrics, test_log_rates = monotone_curve(test_rate, test_metric)
    if len(reference_metrics) < 2 or len(test_metrics) < 2:
        return None
    low = max(reference_log_rates[0], test_log_rates[0])
    high = min(reference_log_rates[-1], test_log_rates[-1])
    if high <= low:
        return None
    grid = np.linspace(low, high, GRID_POINTS)
    return float(np.mean(np.interp(grid, test_log_rates, test_metrics)
                         - np.interp(grid, reference_log_rates, reference_metrics)))
