"""The registry of face detectors: a face-detector name resolves here.

"mtcnn+blazeface" finds the faces either finds: the privacy mode's default, so that a face
one detector misses is still concealed. Leaks are measured with "dlib-hog", a detector of
another family that the privacy mode never uses, so a face the concealer misses is counted.
"""

from collections.abc import Callable
from functools import cache

import numpy as np

from vcm.errors import InputError
from vcm.models.detector import box_iou
from vcm.models.faces import Face, FaceDetector

MEASURING_FACE_DETECTOR = "dlib-hog"  # what leaks are measured with: independent of the concealer
CONCEALING_FACE_DETECTOR = "mtcnn+blazeface"  # what the privacy mode conceals
LANDMARK_FACE_DETECTOR = "mtcnn"  # gives the five landmarks the generic face is aligned by
SAME_FACE_IOU = 0.3  # boxes of two detectors overlapping this much are one face


class EitherFaceDetector:
    """The faces any of several detectors finds; where they overlap (IoU >= SAME_FACE_IOU)
    the earlier detector's face is kept (MTCNN first: it gives the five landmarks)."""

    def __init__(self, detectors: list[FaceDetector]) -> None:
        self.detectors = detectors

    def detect_faces(self, frame: np.ndarray) -> list[Face]:
        found: list[Face] = []
        for detector in self.detectors:
            found.extend(face for face in detector.detect_faces(frame)
                         if all(box_iou(face.box, kept.box) < SAME_FACE_IOU for kept in found))
        return sorted(found, key=lambda face: -face.score)


def _mtcnn() -> FaceDetector:
    from vcm.models.mtcnn import Mtcnn

    return Mtcnn()


def _blazeface() -> FaceDetector:
    from vcm.models.blazeface import BlazeFace

    return BlazeFace()


def _dlib_hog() -> FaceDetector:
    from vcm.models.dlib_faces import DlibHogFaces

    return DlibHogFaces()


def _either() -> FaceDetector:
    return EitherFaceDetector([load_face_detector("mtcnn"), load_face_detector("blazeface")])


FACE_DETECTORS: dict[str, Callable[[], FaceDetector]] = {
    "mtcnn": _mtcnn,
    "blazeface": _blazeface,
    "mtcnn+blazeface": _either,
    "dlib-hog": _dlib_hog,
}


def check_face_detector_name(name: str) -> str:
    """`name` if it names a face detector (for argparse), else InputError with the choices."""
    if name in FACE_DETECTORS:
        return name
    raise InputError(f"unknown face detector {name!r}; available: {', '.join(FACE_DETECTORS)}")


@cache
def load_face_detector(name: str = LANDMARK_FACE_DETECTOR) -> FaceDetector:
    """The named face detector, built once per process."""
    return FACE_DETECTORS[check_face_detector_name(name)]()
