import dataclasses

import cv2
import numpy as np
import pytest
import torch

from vcm.errors import InputError
from vcm.models import YoloV3Tiny
from vcm.models.detector import box_iou
from vcm.models.weights import fetch_yolov3_tiny

from .checks import assert_gradient_is_local

MIN_SCORE = 0.3


def _opencv_detections(frame_rgb: np.ndarray) -> list[tuple[int, float, tuple[float, ...]]]:
    files = fetch_yolov3_tiny()
    net = cv2.dnn.readNetFromDarknet(str(files.cfg), str(files.weights))
    blob = cv2.dnn.blobFromImage(frame_rgb[:, :, ::-1], 1 / 255.0, (416, 416), swapRB=True, crop=False)
    net.setInput(blob)
    height, width = frame_rgb.shape[:2]
    boxes, scores, classes = [], [], []
    for output in net.forward(net.getUnconnectedOutLayersNames()):
        for row in output:
            class_id = int(np.argmax(row[5:]))
            score = float(row[5 + class_id])
            if score >= MIN_SCORE:
                cx, cy, w, h = row[0] * width, row[1] * height, row[2] * width, row[3] * height
                boxes.append([cx - w / 2, cy - h / 2, w, h])
                scores.append(score)
                classes.append(class_id)
    kept = np.array(cv2.dnn.NMSBoxes(boxes, scores, MIN_SCORE, 0.45)).flatten()
    return [(classes[i], scores[i], (boxes[i][0], boxes[i][1], boxes[i][0] + boxes[i][2],
                                     boxes[i][1] + boxes[i][3])) for i in kept]


@pytest.mark.parametrize("index", [0, 5, 11])
def test_matches_opencv_darknet_reader(frames: np.ndarray, detector: YoloV3Tiny, index: int) -> None:
    frame = frames[index]
    reference = _opencv_detections(frame)
    ours = [d for d in detector.detect(frame[None])[0] if d.score >= MIN_SCORE]
    assert len(reference) >= 3
    assert len(ours) == len(reference)
    for class_id, score, box in reference:
        match = max(ours, key=lambda d: box_iou(d.box, box) if d.class_id == class_id else -1)
        assert match.class_id == class_id
        assert box_iou(match.box, box) >= 0.95
        assert abs(match.score - score) <= 0.01


def test_finds_people_in_the_sample(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    for detections in detector.detect(frames[:4]):
        assert any(d.class_name == "person" and d.score >= 0.7 for d in detections)
        for d in detections:
            x1, y1, x2, y2 = d.box
            assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576


def test_target_score_gradient_is_local(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    target = max(detector.detect(frames[:1])[0], key=lambda d: d.score)
    assert_gradient_is_local(detector, frames[0], target)


def test_gradient_selects_the_class(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    frame = frames[0]
    target = max(detector.detect(frame[None])[0], key=lambda d: d.score)
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255)
    other_class = (target.class_id + 40) % 80
    other = dataclasses.replace(target, class_id=other_class)
    own, other_score = detector.target_scores(image, [target, other])
    assert own.item() > 10 * other_score.item()


def test_score_maps_are_the_class_scores_of_the_detector(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    image = torch.nn.functional.interpolate(
        torch.from_numpy(frames[:1]).permute(0, 3, 1, 2).float().div(255), size=(416, 416), mode="bilinear")
    with torch.no_grad():
        maps = detector.score_maps(image)
        _, scores = detector.predictions(image)
    assert [tuple(m.shape) for m in maps] == [(1, 3, 13, 13, 80), (1, 3, 26, 26, 80)]
    flat = torch.cat([m.reshape(1, -1, 80) for m in maps], dim=1)
    assert torch.allclose(flat, scores, atol=1e-6)
    assert flat[..., 0].max() >= 0.7  # people, as detect finds them


@pytest.mark.parametrize("bad", [np.zeros((1, 64, 64, 3), np.float32), np.zeros((1, 64, 64), np.uint8)])
def test_detect_refuses_frames_of_another_type_or_shape(detector: YoloV3Tiny, bad: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"expected \(H, W, 3\) uint8"):
        detector.detect(bad)
