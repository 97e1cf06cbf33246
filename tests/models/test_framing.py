"""Letterboxed and tiled views of a frame: geometry, boxes back in frame pixels, the model's
own selection per view, differentiable target scores, names."""

import numpy as np
import pytest
import torch

from vcm.errors import InputError
from vcm.models import load_detector
from vcm.models.detector import box_iou
from vcm.models.detectors import check_detector_name
from vcm.models.framing import FramedDetector


def test_views_cover_the_long_side_with_overlapping_squares() -> None:
    framed = FramedDetector(load_detector("yolov3-tiny"), "tiles")
    assert framed.views(540, 960) == [(0, 0, 960), (0, 0, 540), (210, 0, 540), (420, 0, 540)]
    assert framed.views(576, 768) == [(0, 0, 768), (0, 0, 576), (192, 0, 576)]
    assert framed.views(960, 540) == [(0, 0, 960), (0, 0, 540), (0, 210, 540), (0, 420, 540)]
    assert framed.views(480, 480) == [(0, 0, 480)]  # square: the letterboxed frame is the frame
    assert FramedDetector(load_detector("yolov3-tiny"), "letterbox").views(540, 960) == [(0, 0, 960)]


@pytest.mark.parametrize("framing", ["letterbox", "tiles"])
def test_framed_people_are_the_plain_ones_in_frame_pixels(frames: np.ndarray, framing: str) -> None:
    plain = load_detector("nanodet")
    framed = load_detector(f"nanodet@{framing}")
    frame = frames[:1]
    height, width = frame.shape[1:3]
    expected = [d for d in plain.detect(frame)[0] if d.class_name == "person" and d.score >= 0.6]
    found = [d for d in framed.detect(frame)[0] if d.class_name == "person"]
    assert expected and all(0 <= d.box[0] < d.box[2] <= width and 0 <= d.box[1] < d.box[3] <= height
                            for d in found)
    for person in expected:  # each confident person is found again, at the same place
        assert max(box_iou(person.box, d.box) for d in found) >= 0.5, person


def test_the_framed_threshold_leaves_the_shared_model_alone(frames: np.ndarray) -> None:
    framed = load_detector("yolov3-tiny@tiles")
    framed.score_threshold = 0.9
    strict = framed.detect(frames[:1])[0]
    assert all(d.score >= 0.9 for d in strict)
    assert load_detector("yolov3-tiny").score_threshold == 0.25


def test_target_scores_stay_differentiable_through_the_views(frames: np.ndarray) -> None:
    framed = load_detector("yolov3-tiny@tiles")
    target = max(framed.detect(frames[:1])[0], key=lambda d: d.score)
    image = (torch.from_numpy(frames[0]).permute(2, 0, 1).float() / 255).requires_grad_(True)
    score = framed.target_scores(image, [target])[0]
    score.backward()
    assert score.item() >= target.score - 0.05 and image.grad is not None and image.grad.abs().sum() > 0


def test_framing_names_are_checked() -> None:
    assert check_detector_name("centernet@tiles") == "centernet@tiles"
    with pytest.raises(InputError, match="unknown framing 'zoom'"):
        check_detector_name("nanodet@zoom")
    with pytest.raises(InputError, match="unknown detector 'yolo9'"):
        check_detector_name("yolo9@tiles")


def test_a_union_finds_what_either_model_finds(frames: np.ndarray) -> None:
    union = load_detector("nanodet+yolov3-tiny")
    assert union.name == "nanodet+yolov3-tiny" and check_detector_name("nanodet+centernet@tiles")
    found = union.detect(frames[:1])[0]
    for name in ("nanodet", "yolov3-tiny"):
        for detection in load_detector(name).detect(frames[:1])[0]:
            if detection.score >= 0.6:
                assert max(box_iou(detection.box, d.box) for d in found
                           if d.class_id == detection.class_id) >= 0.5, (name, detection)
    assert load_detector("nanodet").score_threshold == load_detector("yolov3-tiny").score_threshold == 0.25
    with pytest.raises(InputError, match="unknown detector 'yolo9'"):
        check_detector_name("nanodet+yolo9")
