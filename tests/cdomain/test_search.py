"""Movements of tracked people and the search threshold, on hand-made detections and scores."""

import pytest

from vcm.cdomain.search import fit_search_threshold, movements
from vcm.errors import InputError
from vcm.models.detector import Detection


def _person(x: float, y: float, score: float = 0.9, size: float = 40.0) -> Detection:
    return Detection((x, y, x + size / 2, y + size), score, 0, "person")


def test_a_person_walking_right_then_one_standing() -> None:
    walking = [[_person(10 + i, 50)] for i in range(16)]  # 15 px to the right
    assert movements(walking) == ["right"]
    standing = [[_person(100, 50 + (i % 2))] for i in range(16)]
    assert movements(standing) == ["standing"]
    both = [w + s for w, s in zip(walking, standing, strict=True)]
    assert movements(both) == ["right", "standing"]


def test_toward_and_away_follow_the_picture_rows() -> None:
    assert movements([[_person(50, 20 + 2 * i)] for i in range(16)]) == ["toward"]
    assert movements([[_person(50, 80 - 2 * i)] for i in range(16)]) == ["away"]


def test_short_tracks_weak_detections_and_other_classes_do_not_count() -> None:
    assert movements([[_person(10 + 3 * i, 50)] if i < 5 else [] for i in range(16)]) == []
    assert movements([[_person(10 + i, 50, score=0.3)] for i in range(16)]) == []
    car = Detection((10, 10, 50, 30), 0.9, 2, "car")
    assert movements([[car] for _ in range(16)]) == []


def test_the_search_threshold_keeps_the_recall_on_validation() -> None:
    moving = [True] * 40 + [False] * 10
    scores = [1.0 - i / 100 for i in range(40)] + [0.9] * 10  # moving windows score 1.00 .. 0.61
    threshold = fit_search_threshold(scores, moving)
    flagged = [s >= threshold for s, m in zip(scores, moving, strict=True) if m]
    assert sum(flagged) / 40 >= 0.97 and threshold == pytest.approx(0.62)
    with pytest.raises(InputError, match="no window with moving people"):
        fit_search_threshold([0.5, 0.6], [False, False])
