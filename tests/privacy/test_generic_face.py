"""Generic faces: the drawn face is a face to a face detector, with its features where its
landmarks say; both generic faces align to a face's landmarks."""

import numpy as np
import pytest

from vcm.models.face_detectors import load_face_detector
from vcm.models.faces import Face
from vcm.privacy.generic_face import DRAWN_LANDMARKS, EYE_DISTANCE, GENERIC_FACES, drawn_face


def test_blazeface_finds_the_drawn_face_with_its_features_at_its_landmarks() -> None:
    face = drawn_face()
    skin = np.stack([face.image + 40, face.image, face.image - 25], axis=-1).clip(0, 255).astype(np.uint8)
    found = load_face_detector("blazeface").detect_faces(skin)
    assert len(found) == 1 and found[0].score > 0.5
    errors = np.linalg.norm(np.asarray(found[0].landmarks) - DRAWN_LANDMARKS, axis=1) / EYE_DISTANCE
    assert errors.max() < 0.2


@pytest.mark.parametrize("name", ["drawn", "mean-lfw"])
def test_a_generic_face_puts_dark_eyes_on_the_faces_eyes(name: str) -> None:
    generic = GENERIC_FACES.entry(name)()
    target = generic.landmarks * 0.5 + np.array([30.0, 10.0])  # a face half the size, elsewhere
    face = Face((0, 0, 1, 1), 1.0, tuple((float(x), float(y)) for x, y in target))
    warped = generic.warped(face, (0, 0, 200, 200))[0, 0].numpy()
    for x, y in target[:2]:
        assert warped[round(y), round(x)] < np.median(warped) - 10


def test_landmarks_in_one_point_give_the_flat_colour() -> None:
    generic = drawn_face()
    warped = generic.warped(Face((0, 0, 10, 10), 1.0, ((5.0, 5.0),) * 5), (0, 0, 10, 10))
    assert np.isfinite(warped.numpy()).all() and float(warped.max()) == float(warped.min())
