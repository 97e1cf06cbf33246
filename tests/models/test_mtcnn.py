"""The MTCNN face detector on real photos, with its real weights."""

import numpy as np
import pytest

from vcm.media.face_clips import load_photo
from vcm.models.mtcnn import Mtcnn, nms


@pytest.mark.parametrize("name", ["obama", "biden", "astronaut", "grace_hopper"])
def test_one_confident_face_per_portrait(face_detector: Mtcnn, name: str) -> None:
    faces = face_detector.detect_faces(load_photo(name))
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.99 and face.size > 60
    x1, y1, x2, y2 = face.box
    points = np.array(face.landmarks)
    assert points.shape == (5, 2)
    inside = (points[:, 0] > x1) & (points[:, 0] < x2) & (points[:, 1] > y1) & (points[:, 1] < y2)
    assert inside.all()
    left_eye, right_eye, nose, mouth_left, mouth_right = points
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_no_face_in_noise_or_flat_frames(face_detector: Mtcnn) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert face_detector.detect_faces(noise) == []
    assert face_detector.detect_faces(np.full((240, 320, 3), 128, np.uint8)) == []


def test_rejects_non_rgb_input(face_detector: Mtcnn) -> None:
    with pytest.raises(ValueError, match="RGB"):
        face_detector.detect_faces(np.zeros((10, 10), np.uint8))


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 5, 5]], float)
    scores = np.array([0.8, 0.9, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes, scores, 0.5, by_min=True).tolist() == [1, 2]
