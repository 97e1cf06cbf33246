"""Checks shared by the detector backends' tests: agreement with a reference's detections,
and a target score whose gradient stays at its target."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from vcm.models.detector import Detection, Detector, box_iou


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


def assert_gradient_is_local(detector: Detector, frame: np.ndarray, target: Detection,
                             score_tolerance: float = 1e-3) -> None:
    """target_scores(frame, [target]) equals the target's score and its gradient w.r.t. the
    frame is finite, non-zero and 10x stronger within 16 px of the box than elsewhere."""
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).requires_grad_(True)
    (score,) = detector.target_scores(image, [target])
    assert score.item() == pytest.approx(target.score, abs=score_tolerance)
    score.backward()
    assert image.grad is not None
    gradient = image.grad.abs().sum(dim=0)
    assert torch.isfinite(gradient).all() and gradient.sum() > 0
    x1, y1, x2, y2 = (int(v) for v in target.box)
    inside = torch.zeros_like(gradient, dtype=torch.bool)
    inside[max(y1 - 16, 0) : y2 + 16, max(x1 - 16, 0) : x2 + 16] = True
    assert gradient[inside].mean() > 10 * gradient[~inside].mean()
