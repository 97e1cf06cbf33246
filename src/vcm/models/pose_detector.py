"""The pose task behind the detector interface, so every planner and check can keep poses.

Each frame's MoveNet pose becomes one "person" Detection: its box surrounds the visible
keypoints, its score is the mean keypoint score, and it carries the keypoints; whether a
pose survives coding is judged by OKS (vcm.tasks.targets.survives), not by box IoU.
"""

from collections.abc import Sequence

import numpy as np
import torch

from vcm.models.detector import Detection
from vcm.models.movenet import MoveNet, Pose

POSE_CLASS = (0, "person")  # COCO's person class: a pose is a person's


def pose_detection(pose: Pose) -> Detection:
    """A pose (with at least one visible keypoint) as a person Detection carrying it."""
    box = pose.box
    if box is None:
        raise ValueError("a pose without visible keypoints has no box")
    return Detection(box=box, score=pose.score, class_id=POSE_CLASS[0], class_name=POSE_CLASS[1],
                     keypoints=pose.keypoints)


class PoseDetector:
    """MoveNet Lightning as a Detector: at most one pose per frame (single-person model)."""

    name = "movenet-lightning"
    class_names = ("person",)

    def __init__(self, *, score_threshold: float = 0.0) -> None:
        self.model = MoveNet()
        self.score_threshold = score_threshold

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """(N, H, W, 3) uint8 RGB -> per frame [its pose] (or [] when none or below threshold)."""
        poses = self.model.estimate(np.asarray(frames))
        return [[pose_detection(p)] if p is not None and p.score >= self.score_threshold else []
                for p in poses]

    def score_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) -> [(B, 17) keypoint scores]."""
        return [self.model.keypoints(images)[..., 2]]

    def target_scores(self, image: torch.Tensor, targets: Sequence[Detection]) -> torch.Tensor:
        """(T,) the mean keypoint score of the frame's pose ((3, H, W) RGB in [0, 1]) for each
        target (the single pose is every target), differentiable w.r.t. the image."""
        score = self.model.keypoints(image.unsqueeze(0))[0, :, 2].mean()
        return score.expand(len(targets))
