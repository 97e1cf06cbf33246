import math

import pytest

from vcm.eval.detection_ap import mean_average_precision
from vcm.models.detector import Detection


def _d(x: float, score: float, class_id: int = 0) -> Detection:
    return Detection((x, 0.0, x + 10.0, 20.0), score, class_id, "c")


def test_identical_detections_score_one() -> None:
    truth = [[_d(0, 0.9), _d(50, 0.8, 1)], [_d(5, 0.7)]]
    assert mean_average_precision(truth, truth) == pytest.approx(1.0)


def test_nothing_found_scores_zero_and_no_truth_is_nan() -> None:
    assert mean_average_precision([[_d(0, 0.9)]], [[]]) == 0.0
    assert math.isnan(mean_average_precision([[_d(0, 0.3)]], [[_d(0, 0.9)]]))


def test_false_positive_ranked_first_halves_precision() -> None:
    truth = [[_d(0, 0.9)]]
    found = [[_d(100, 0.95), _d(0, 0.9)]]
    assert mean_average_precision(truth, found) == pytest.approx(0.5)
