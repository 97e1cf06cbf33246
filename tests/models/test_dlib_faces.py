"""dlib's HOG face detector: finds the face MTCNN finds, nothing on a blank frame."""

import numpy as np

from vcm.models.detector import box_iou
from vcm.models.dlib_faces import DlibHogFaces
from vcm.models.face_detectors import load_face_detector


def test_finds_the_face_mtcnn_finds(face_video: np.ndarray) -> None:
    hog, mtcnn = DlibHogFaces(), load_face_detector("mtcnn")
    for frame in face_video[::2]:
        found = hog.detect_faces(frame)
        reference = mtcnn.detect_faces(frame)
        assert len(found) >= 1 and len(reference) == 1
        assert box_iou(found[0].box, reference[0].box) > 0.4
        assert found[0].score > 0 and found[0].landmarks == ()


def test_blank_frame_has_no_face() -> None:
    assert DlibHogFaces().detect_faces(np.full((240, 320, 3), 128, dtype=np.uint8)) == []


def test_boxes_stay_inside_a_frame_cut_through_the_face(face_video: np.ndarray) -> None:
    frame = face_video[0]
    face = DlibHogFaces().detect_faces(frame)[0]
    x1, x2 = round(face.box[0]), round(face.box[2])
    cut = np.ascontiguousarray(frame[:, : x1 + (x2 - x1) * 3 // 4])  # the face's right quarter cut off
    for found in DlibHogFaces().detect_faces(cut):
        assert 0 <= found.box[0] < found.box[2] <= cut.shape[1]
        assert 0 <= found.box[1] < found.box[3] <= cut.shape[0]
