"""dlib's face identity model on real photos."""

import io

import numpy as np
import pytest
from PIL import Image

from vcm.media.face_clips import load_photo
from vcm.models.dlib_identity import DlibIdentity
from vcm.models.mtcnn import Mtcnn


def _embedding(face_detector: Mtcnn, identity: DlibIdentity, name: str) -> np.ndarray:
    photo = load_photo(name)
    return identity.embed([photo], face_detector.detect_faces(photo)[0])[0]


def test_mild_jpeg_keeps_the_identity(face_detector: Mtcnn, face_identity: DlibIdentity) -> None:
    photo = load_photo("obama")
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=60)
    compressed = np.asarray(Image.open(buffer).convert("RGB"))
    face = face_detector.detect_faces(photo)[0]
    before, after = face_identity.embed([photo, compressed], face)
    assert before.shape == (128,)
    assert np.linalg.norm(before - after) < 0.15


@pytest.mark.slow
def test_same_person_matches_and_different_people_do_not(face_detector: Mtcnn,
                                                         face_identity: DlibIdentity) -> None:
    names = ["obama", "obama2", "obama3", "biden", "astronaut", "grace_hopper"]
    embeddings = {name: _embedding(face_detector, face_identity, name) for name in names}
    for first in names:
        for second in names:
            if first == second:
                continue
            same = first.startswith("obama") and second.startswith("obama")
            distance = np.linalg.norm(embeddings[first] - embeddings[second])
            assert (distance < face_identity.match_distance) == same, (first, second, distance)


def test_frames_of_different_sizes_are_rejected(face_detector: Mtcnn, face_identity: DlibIdentity) -> None:
    photo = load_photo("biden")
    face = face_detector.detect_faces(photo)[0]
    with pytest.raises(ValueError, match="differ in shape"):
        face_identity.embed([photo, photo[:-2]], face)
