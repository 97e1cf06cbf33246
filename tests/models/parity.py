"""Comparing detections with the TensorFlow.js reference's."""

from collections.abc import Sequence
from typing import Any

from vcm.models.detector import Detection, box_iou


def assert_same_detections(ours: Sequence[Detection], theirs: Sequence[dict[str, Any]]) -> None:
    """Same number, and each reference detection matched by one of ours of its class with
    IoU >= 0.95 and a score within 0.01."""
    assert len(theirs) >= 3 and len(ours) == len(theirs)
    for reference in theirs:
        same_class = [d for d in ours if d.class_id == reference["class_id"]]
        assert same_class, reference
        match = max(same_class, key=lambda d: box_iou(d.box, reference["box"]))
        assert box_iou(match.box, reference["box"]) >= 0.95
        assert abs(match.score - reference["score"]) <= 0.01
