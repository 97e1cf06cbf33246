"""F1 of the detections on decoded frames against the original's, at the task's operating
score: the accuracy measure of AccMPEG and DDS (the original's output is the truth)."""

from collections.abc import Sequence

from vcm.models.detector import Detection, box_iou


def detection_counts(truth: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]], *,
                     min_score: float, iou: float = 0.5) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) summed over frames. Per frame the
    truth is the original's detections with score >= min_score and the answers the decoded
    frame's with score >= min_score; best answers first, each matches the unmatched truth of
    its class it overlaps most, if that IoU >= iou."""
    hits = answered = expected = 0
    for originals, decoded in zip(truth, found, strict=True):
        wanted = [d for d in originals if d.score >= min_score]
        answers = sorted((d for d in decoded if d.score >= min_score), key=lambda d: -d.score)
        free = list(range(len(wanted)))
        for answer in answers:
            overlaps = [(box_iou(answer.box, wanted[j].box), j) for j in free
                        if wanted[j].class_id == answer.class_id]
            best, index = max(overlaps, default=(0.0, -1))
            if best >= iou:
                free.remove(index)
                hits += 1
        answered += len(answers)
        expected += len(wanted)
    return hits, answered - hits, expected - hits


def f1_score(truth: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]], *,
             min_score: float, iou: float = 0.5) -> float | None:
    """2 TP / (2 TP + FP + FN) over the frames (see detection_counts); None when neither the
    original nor the decoded frames hold a detection at min_score."""
    hits, false_alarms, misses = detection_counts(truth, found, min_score=min_score, iou=iou)
    total = 2 * hits + false_alarms + misses
    return 2 * hits / total if total else None
