"""mAP@0.5 of detections on decoded frames against the original's detections (pseudo ground truth)."""

from collections.abc import Sequence

import numpy as np

from vcm.models.detector import Detection, box_iou

GROUND_TRUTH_SCORE = 0.5


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated AP (VOC 2010+) from recall/precision arrays in score order."""
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.where(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def mean_average_precision(truth: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]],
                           *, iou: float = 0.5, truth_score: float = GROUND_TRUTH_SCORE) -> float:
    """mAP over the classes present in `truth` (original detections with score >= truth_score);
    `found` are all detections on the decoded frames, ranked by score."""
    truth = [[d for d in frame if d.score >= truth_score] for frame in truth]
    classes = sorted({d.class_id for frame in truth for d in frame})
    if not classes:
        return float("nan")
    scores = []
    for class_id in classes:
        positives = sum(1 for frame in truth for d in frame if d.class_id == class_id)
        ranked = sorted(((d.score, index, d) for index, frame in enumerate(found)
                         for d in frame if d.class_id == class_id), key=lambda item: -item[0])
        matched: set[tuple[int, int]] = set()
        hits = []
        for _, index, detection in ranked:
            candidates = [(box_iou(detection.box, t.box), j) for j, t in enumerate(truth[index])
                          if t.class_id == class_id and (index, j) not in matched]
            best = max(candidates, default=(0.0, -1))
            if best[0] >= iou:
                matched.add((index, best[1]))
                hits.append(1)
            else:
                hits.append(0)
        true_positives = np.cumsum(hits)
        recall = true_positives / positives if hits else np.zeros(0)
        precision = true_positives / np.arange(1, len(hits) + 1) if hits else np.zeros(0)
        scores.append(average_precision(recall, precision))
    return float(np.mean(scores))
