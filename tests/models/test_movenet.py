"""MoveNet Lightning against TensorFlow.js in Node, its gradients, and the OKS survival measure."""

import math

import numpy as np
import pytest
import torch

from vcm.media.face_clips import load_photo
from vcm.models.movenet import KEYPOINT_NAMES, MoveNet, Pose, square_padding
from vcm.models.pose_detector import pose_detection
from vcm.models.tfjs.reference import run_reference
from vcm.tasks.pose import object_keypoint_similarity, pose_survives
from vcm.tasks.targets import TargetSpec, survives

HIDDEN = (0.0, 0.0, 0.1)  # an invisible keypoint (score < 0.3)


@pytest.fixture(scope="module")
def movenet() -> MoveNet:
    return MoveNet()


def as_image(frame: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) in [0, 1]."""
    return torch.tensor(frame, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0) / 255.0


def made_up(points: dict[str, tuple[float, float]], score: float = 0.9) -> Pose:
    """A pose whose named keypoints are visible at `points`, the others hidden."""
    return Pose(tuple((*points[n], score) if n in points else HIDDEN for n in KEYPOINT_NAMES))


def test_square_padding_centres_the_frame() -> None:
    assert square_padding(576, 768) == (96, 96, 0, 0)
    assert square_padding(101, 100) == (0, 0, 0, 1)


@pytest.mark.parametrize("source", ["clip", "astronaut"])
def test_matches_tensorflow_js(movenet: MoveNet, frames: np.ndarray, source: str) -> None:
    # the clip's 768x576 frame is padded to 768x768 (resize picks every 4th pixel); the
    # astronaut's 512x512 photo is resized with interpolation
    frame = frames[0] if source == "clip" else load_photo("astronaut")
    reference = run_reference("movenet-lightning", frame)
    with torch.no_grad():
        raw = movenet.raw_output(movenet.network_input(as_image(frame))).numpy()
    assert raw.shape == reference.raw["Identity"].shape == (1, 1, 17, 3)
    assert np.abs(raw - reference.raw["Identity"]).max() < 1e-3
    pose = movenet.estimate(frame[None])[0]
    assert pose is not None
    found, expected = np.array(pose.keypoints), np.array(reference.results)
    assert np.abs(found[:, :2] - expected[:, :2]).max() < 1.0
    assert np.abs(found[:, 2] - expected[:, 2]).max() < 0.01
    assert pose.score > 0.3


def test_pose_on_the_clip_is_a_walking_person(movenet: MoveNet, frames: np.ndarray) -> None:
    pose = movenet.estimate(frames[:1])[0]
    assert pose is not None and pose.box is not None
    x1, y1, x2, y2 = pose.box
    # the person standing on the grass left of the lamp post, about 90 px tall
    assert 240 < x1 < x2 < 300 and 200 < y1 < y2 < 320 and y2 - y1 > 50
    named = pose.to_dict()["keypoints"]
    assert isinstance(named, dict) and tuple(named) == KEYPOINT_NAMES


def test_no_pose_on_a_blank_frame(movenet: MoveNet) -> None:
    assert movenet.estimate(np.zeros((1, 120, 160, 3), np.uint8)) == [None]


def test_float_input_equals_int_input(movenet: MoveNet) -> None:
    frame = load_photo("astronaut")
    with torch.no_grad():
        pixels = movenet.network_input(as_image(frame))
        assert torch.equal(pixels, torch.trunc(pixels))
        assert torch.equal(movenet.raw_output(pixels), movenet.raw_output(pixels.int()))


def test_keypoint_scores_are_differentiable_near_the_person(movenet: MoveNet,
                                                             frames: np.ndarray) -> None:
    image = as_image(frames[0]).requires_grad_()
    keypoints = movenet.keypoints(image)
    assert keypoints.shape == (1, 17, 3)
    keypoints[0, :, 2].sum().backward()
    assert image.grad is not None
    magnitude = image.grad[0].abs().sum(dim=0)
    near, far = magnitude[200:330, 230:310].sum(), magnitude[420:550, 20:100].sum()
    assert near > 0 and near > 5 * far


def test_oks_of_identical_poses_is_one() -> None:
    pose = made_up({"nose": (10.0, 20.0), "left_ankle": (40.0, 200.0), "right_wrist": (5.0, 90.0)})
    assert object_keypoint_similarity(pose, pose) == 1.0


def test_oks_of_a_shifted_keypoint_by_hand() -> None:
    # box (0, 0)-(30, 40): s^2 = 1200 px^2; the nose (sigma .026, k = .052) moves by 5 px
    reference = made_up({"nose": (0.0, 0.0), "left_hip": (30.0, 40.0)})
    candidate = made_up({"nose": (3.0, 4.0), "left_hip": (30.0, 40.0)}, score=0.05)
    nose = math.exp(-25 / (2 * 1200 * 0.052**2))  # exp(-25 / 6.4896) = exp(-3.85232)
    assert nose == pytest.approx(0.021230, abs=1e-6)
    expected = (nose + 1.0) / 2  # the hip has not moved
    assert object_keypoint_similarity(reference, candidate) == pytest.approx(expected, rel=1e-12)


def test_oks_of_a_whole_pose_shifted_by_hand() -> None:
    # both shoulders (sigma .079, k = .158) in a 100 x 100 box, every keypoint moved 10 px
    reference = made_up({"left_shoulder": (0.0, 0.0), "right_shoulder": (100.0, 100.0)})
    candidate = made_up({"left_shoulder": (10.0, 0.0), "right_shoulder": (100.0, 110.0)})
    expected = math.exp(-100 / (2 * 10_000 * 0.158**2))  # exp(-100 / 499.28) = exp(-0.200288)
    assert expected == pytest.approx(0.818495, abs=1e-6)
    assert object_keypoint_similarity(reference, candidate) == pytest.approx(expected, rel=1e-12)


def test_oks_ignores_keypoints_hidden_in_the_reference() -> None:
    reference = made_up({"left_knee": (0.0, 0.0), "right_knee": (50.0, 80.0)})
    moved = list(reference.keypoints)
    moved[KEYPOINT_NAMES.index("nose")] = (500.0, 700.0, 0.99)
    assert object_keypoint_similarity(reference, Pose(tuple(moved))) == 1.0
    with pytest.raises(ValueError, match="no visible keypoint"):
        object_keypoint_similarity(Pose((HIDDEN,) * 17), reference)


def test_pose_survival() -> None:
    reference = made_up({"left_shoulder": (0.0, 0.0), "right_shoulder": (100.0, 100.0)})
    shifted = made_up({"left_shoulder": (10.0, 0.0), "right_shoulder": (100.0, 110.0)})  # OKS 0.818
    far = made_up({"left_shoulder": (60.0, 0.0), "right_shoulder": (100.0, 160.0)})
    assert pose_survives(reference, [far, shifted])
    assert not pose_survives(reference, [far])
    assert not pose_survives(reference, [shifted], min_oks=0.9)
    assert not pose_survives(reference, [])
    # as targets: OKS decides, and a planning safety margin raises the OKS required
    target = pose_detection(reference)
    assert survives(target, [pose_detection(far), pose_detection(shifted)], TargetSpec())
    assert not survives(target, [pose_detection(far)], TargetSpec())
    assert survives(target, [pose_detection(shifted)], TargetSpec(), safety=0.5)  # needs 0.75
    assert not survives(target, [pose_detection(shifted)], TargetSpec(), safety=0.7)  # needs 0.85


def test_pose_summary() -> None:
    pose = made_up({"nose": (10.0, 20.0), "left_ankle": (40.0, 200.0)}, score=0.8)
    assert pose.box == (10.0, 20.0, 40.0, 200.0)
    assert pose.score == pytest.approx((2 * 0.8 + 15 * 0.1) / 17)
    assert pose.to_dict()["box"] == [10.0, 20.0, 40.0, 200.0]
    with pytest.raises(ValueError, match="17 keypoints"):
        Pose(((0.0, 0.0, 1.0),))
