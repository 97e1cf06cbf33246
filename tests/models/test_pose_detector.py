import numpy as np
import pytest
import torch

from vcm.models.detector import Detector
from vcm.models.movenet import KEYPOINT_NAMES, VISIBLE_SCORE
from vcm.tasks import load_task_model


@pytest.fixture(scope="module")
def poses() -> Detector:
    return load_task_model("pose")


def test_a_pose_is_a_person_detection_carrying_its_keypoints(face_video: np.ndarray, poses: Detector) -> None:
    found = poses.detect(face_video[:2])
    for frame in found:
        assert len(frame) == 1
        pose = frame[0]
        assert pose.class_name == "person" and pose.class_id == 0
        assert len(pose.keypoints) == len(KEYPOINT_NAMES)
        visible = [(x, y) for x, y, s in pose.keypoints if s >= VISIBLE_SCORE]
        x1, y1, x2, y2 = pose.box
        assert visible and all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in visible)
        assert pose.score == pytest.approx(np.mean([s for _, _, s in pose.keypoints]))
    assert poses.detect(np.zeros((1, 96, 96, 3), np.uint8)) == [[]]


def test_target_score_is_the_mean_keypoint_score_and_differentiable(face_video: np.ndarray,
                                                                    poses: Detector) -> None:
    frame = face_video[0]
    pose = poses.detect(frame[None])[0][0]
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).requires_grad_(True)
    (score,) = poses.target_scores(image, [pose])
    assert score.item() == pytest.approx(pose.score, abs=1e-4)
    score.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
