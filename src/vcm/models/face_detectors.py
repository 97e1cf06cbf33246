"""The registry of face detectors: a face-detector name resolves here.

"mtcnn+blazeface" finds the faces either finds: the privacy mode's default, so that a face
one detector misses is still concealed. Leaks are measured with "dlib-hog", a detector of
another family that the privacy mode never uses, so a face the concealer misses is counted.
"""

from collections.abc import Callable
from functools import cache

import numpy as np

from vcm.models.detector import box_iou
from vcm.models.faces import Face, FaceDetector
from vcm.registry import Registry, lazy

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


def _either() -> FaceDetector:
    return EitherFaceDetector([load_face_detector("mtcnn"), load_face_detector("blazeface")])


FACE_DETECTORS: Registry[Callable[[], FaceDetector]] = Registry("face detector")
FACE_DETECTORS.register("mtcnn", lazy("vcm.models.mtcnn:Mtcnn"))
FACE_DETECTORS.register("blazeface", lazy("vcm.models.blazeface:BlazeFace"))
FACE_DETECTORS.register("mtcnn+blazeface", _either)
FACE_DETECTORS.register("dlib-hog", lazy("vcm.models.dlib_faces:DlibHogFaces"))


@cache
def load_face_detector(name: str = LANDMARK_FACE_DETECTOR) -> FaceDetector:
    """The named face detector, built once per process (InputError listing the choices for an
    unknown name)."""
    return FACE_DETECTORS.entry(name)()
