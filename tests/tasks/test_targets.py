from vcm.models.detector import Detection
from vcm.tasks.targets import TargetSpec, select_targets, survives


def _d(x: float, score: float, class_id: int = 0) -> Detection:
    return Detection(box=(x, 10.0, x + 20.0, 50.0), score=score, class_id=class_id, class_name="person")


def test_all_keeps_confident_detections() -> None:
    frames = [[_d(0, 0.9), _d(100, 0.5)], [_d(2, 0.75)]]
    assert select_targets(frames, TargetSpec()) == [[frames[0][0]], [frames[1][0]]]


def test_top1_tracks_the_best_object_by_iou() -> None:
    frames = [[_d(0, 0.8), _d(200, 0.85)], [_d(3, 0.9), _d(203, 0.95)], [_d(6, 0.8), _d(206, 0.72)]]
    tracked = select_targets(frames, TargetSpec(mode="top1"))
    assert [frame[0].box[0] for frame in tracked] == [200, 203, 206]


def test_survival_needs_class_score_and_overlap() -> None:
    target = _d(0, 0.9)
    spec = TargetSpec()
    assert survives(target, [_d(2, 0.71)], spec)
    assert not survives(target, [_d(2, 0.69)], spec)
    assert not survives(target, [_d(2, 0.9, class_id=1)], spec)
    assert not survives(target, [_d(15, 0.9)], spec)
    assert survives(target, [_d(2, 0.5)], TargetSpec(keep_score=0.4))


def test_only_the_classes_of_interest_become_targets() -> None:
    person = Detection((0, 0, 10, 20), 0.9, 0, "person")
    bird = Detection((20, 0, 30, 10), 0.95, 14, "bird")
    spec = TargetSpec(classes=("person", "car"))
    assert select_targets([[person, bird]], spec) == [[person]]
    assert select_targets([[person, bird]], TargetSpec(classes=())) == [[person, bird]]  # every class
    assert select_targets([[person, bird]], TargetSpec()) == [[person]]  # default: people and vehicles
