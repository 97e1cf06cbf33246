"""HSE FaceRes against TensorFlow.js in Node, and as a face-identity attacker on real photos."""

import itertools

import numpy as np
import pytest

from vcm.media.face_clips import load_photo
from vcm.models.faceres import (
    BATCH,
    DESCRIPTOR,
    MATCH_DISTANCE,
    FaceRes,
    crop_square,
    cut_square,
    network_input,
)
from vcm.models.faces import Face
from vcm.models.mtcnn import Mtcnn
from vcm.models.tfjs.reference import run_reference

PHOTOS = ("obama", "obama2", "obama3", "biden", "astronaut", "grace_hopper")
SAME_PERSON = {frozenset(pair) for pair in itertools.combinations(("obama", "obama2", "obama3"), 2)}
HEADS = ("gender_pred/Sigmoid", "age_pred/Softmax")


@pytest.fixture(scope="module")
def faceres() -> FaceRes:
    return FaceRes()


@pytest.fixture(scope="module")
def embeddings(faceres: FaceRes, face_detector: Mtcnn) -> dict[str, np.ndarray]:
    """Each photo's descriptor, its face found by MTCNN."""
    found = {}
    for name in PHOTOS:
        photo = load_photo(name)
        faces = face_detector.detect_faces(photo)
        assert len(faces) == 1, name
        found[name] = faceres.embed([photo], faces[0])[0]
    return found


@pytest.mark.parametrize("placement", ["inside", "corner"])
def test_matches_tensorflow_js(placement: str, faceres: FaceRes, face_detector: Mtcnn) -> None:
    """The face of the obama photo, and the same face cut 150 px below and left of the
    frame's top-left corner (its square then reaches outside the frame and is padded)."""
    photo = load_photo("obama")
    face = face_detector.detect_faces(photo)[0]
    if placement == "corner":
        x1, y1, x2, y2 = face.box
        photo = np.ascontiguousarray(photo[int(y1) + 150 :, int(x1) + 150 :])
        face = Face((x1 - int(x1) - 150, y1 - int(y1) - 150, x2 - int(x1) - 150, y2 - int(y1) - 150),
                    face.score)
    square = crop_square(face.box)
    assert (min(square) < 0) == (placement == "corner")
    cut = cut_square([photo], square)
    reference = run_reference("faceres", cut[0])
    ours_input = network_input(cut)
    assert np.abs(ours_input.numpy() - reference.raw["input"]).max() < 1e-3  # 0-255 pixels
    outputs = faceres.graph(ours_input, [DESCRIPTOR, *HEADS])
    for name, ours in zip([DESCRIPTOR, *HEADS], outputs, strict=True):
        theirs = reference.raw[name]
        assert ours.shape == theirs.shape, name
        tolerance = 1e-4 * max(1.0, float(np.abs(theirs).max()))
        assert np.abs(ours.numpy() - theirs).max() < tolerance, name
    (embedding,) = faceres.embed([photo], face)
    assert embedding.dtype == np.float64 and embedding.shape == (1024,)
    np.testing.assert_allclose(embedding, reference.raw[DESCRIPTOR][0], atol=1e-4)


def test_human_crop_rule() -> None:
    # centre (20, 40), longer side 40 -> a square of side 56 (1.4 x 40); JavaScript rounds halves up
    assert crop_square((10.0, 20.0, 30.0, 60.0)) == (-8, 12, 48, 68)
    assert crop_square((1.5, 1.5, 6.5, 6.5)) == (1, 1, 8, 8)  # 4 -+ 3.5: Math.round(0.5) is 1, round() 0
    frame = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    cut = cut_square([frame, frame + 1], (-2, 3, 4, 6))
    assert cut.shape == (2, 4, 7, 3)
    assert np.array_equal(cut[0, :2, 2:], frame[3:5, 0:5])
    assert np.array_equal(cut[1, :2, 2:], frame[3:5, 0:5] + 1)
    assert not cut[:, 2:].any() and not cut[:, :, :2].any()  # below and left of the frame: black


@pytest.mark.parametrize("pair", sorted(tuple(sorted(pair)) for pair in SAME_PERSON), ids="-".join)
def test_photos_of_one_person_match(pair: tuple[str, str], embeddings: dict[str, np.ndarray],
                                    request: pytest.FixtureRequest) -> None:
    if pair == ("obama", "obama2"):
        # measured 10.06 with MTCNN's box (10.91 with BlazeFace's): Human's threshold misses this pair
        request.applymarker(pytest.mark.xfail(strict=True, reason="L2 10.06, just above Human's 10.0"))
    first, second = pair
    assert np.linalg.norm(embeddings[first] - embeddings[second]) < MATCH_DISTANCE


def test_photos_of_different_people_do_not_match(embeddings: dict[str, np.ndarray]) -> None:
    same, different = [], []
    for first, second in itertools.combinations(PHOTOS, 2):
        distance = float(np.linalg.norm(embeddings[first] - embeddings[second]))
        (same if frozenset((first, second)) in SAME_PERSON else different).append(distance)
    assert len(different) == 12 and min(different) > MATCH_DISTANCE  # measured 11.38 - 14.30
    assert max(same) < min(different)  # measured 8.90 - 10.06 for one person


def test_same_frame_gives_the_same_vector_and_shapes_must_agree(faceres: FaceRes,
                                                                face_detector: Mtcnn) -> None:
    photo = load_photo("astronaut")
    face = face_detector.detect_faces(photo)[0]
    first, second = faceres.embed([photo, photo.copy()], face)
    (alone,) = faceres.embed([photo], face)
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-5)
    np.testing.assert_allclose(first, alone, rtol=0, atol=1e-5)
    batches = faceres.embed([photo] * (BATCH + 1), face)  # two forward passes
    assert len(batches) == BATCH + 1
    np.testing.assert_allclose(np.stack(batches), np.stack([alone] * (BATCH + 1)), rtol=0, atol=1e-5)
    assert faceres.embed([], face) == []
    with pytest.raises(ValueError, match="differ in shape"):
        faceres.embed([photo, photo[:-1]], face)
    with pytest.raises(ValueError, match="RGB"):
        faceres.embed([photo[..., 0]], face)
    assert faceres.match_distance == MATCH_DISTANCE == 10.0
