"""F1 against the original's detections, on hand-made detections with known counts."""

from vcm.eval.detection_f1 import detection_counts, f1_score
from vcm.models.detector import Detection


def _person(x: float, score: float) -> Detection:
    return Detection((x, 0.0, x + 10.0, 20.0), score, 0, "person")


def _car(x: float, score: float) -> Detection:
    return Detection((x, 0.0, x + 10.0, 20.0), score, 2, "car")


def test_counts_match_by_class_iou_and_operating_score() -> None:
    truth = [[_person(0, 0.9), _person(50, 0.8), _car(100, 0.75), _person(200, 0.4)]]
    found = [[_person(1, 0.85),   # matches the first person (IoU 0.82)
              _person(50, 0.6),   # below the operating score: not an answer, so a miss
              _person(100, 0.9),  # a person where the car was: a false alarm, and the car is missed
              _car(300, 0.95)]]   # nothing there: a false alarm
    assert detection_counts(truth, found, min_score=0.7) == (1, 2, 2)
    assert f1_score(truth, found, min_score=0.7) == 2 / (2 + 2 + 2)


def test_one_answer_matches_one_truth_and_empty_frames_are_undefined() -> None:
    truth = [[_person(0, 0.9)], []]
    found = [[_person(0, 0.9), _person(1, 0.8)], []]  # the duplicate is a false alarm
    assert detection_counts(truth, found, min_score=0.5) == (1, 1, 0)
    assert f1_score([[], []], [[], []], min_score=0.5) is None
    assert f1_score(truth, [[], []], min_score=0.5) == 0.0
