"""BlazeFace against TensorFlow.js in Node and against MTCNN, and the face-detector registry."""

import numpy as np
import pytest

from vcm.errors import InputError
from vcm.media.face_clips import load_photo
from vcm.models.blazeface import REGRESSOR_OUTPUTS, SCORE_OUTPUTS, BlazeFace, anchor_centres, weighted_nms
from vcm.models.detector import box_iou
from vcm.models.face_detectors import FACE_DETECTORS, load_face_detector
from vcm.models.mtcnn import Mtcnn
from vcm.models.tfjs.reference import run_reference


@pytest.fixture(scope="module")
def blazeface() -> BlazeFace:
    detector = load_face_detector("blazeface")
    assert isinstance(detector, BlazeFace)
    return detector


@pytest.mark.parametrize("source", ["obama", "clip"])
def test_matches_tensorflow_js(source: str, frames: np.ndarray, blazeface: BlazeFace) -> None:
    """A tall portrait (padded on the right) and a 768x576 clip frame (padded at the bottom)."""
    frame = load_photo("obama") if source == "obama" else frames[0]
    reference = run_reference("blazeface", frame)
    network_input, _ = blazeface.network_input(frame)
    outputs = blazeface.raw_outputs(network_input)
    for name, ours in zip([*SCORE_OUTPUTS, *REGRESSOR_OUTPUTS], outputs, strict=True):
        theirs = reference.raw[name]  # float32 logits reach ~2,000 on the clip frame: 1e-3 relative to that
        assert np.abs(ours.numpy() - theirs).max() < 1e-3 * max(1.0, float(np.abs(theirs).max())), name
    ours = blazeface.detect_faces(frame)
    assert len(ours) == len(reference.results) == (1 if source == "obama" else 0)
    for face, theirs in zip(ours, reference.results, strict=True):
        assert box_iou(face.box, theirs["box"]) >= 0.95
        assert face.score == pytest.approx(theirs["score"], abs=0.01)


@pytest.mark.parametrize("name", ["obama", "biden", "astronaut"])
def test_finds_the_faces_mtcnn_finds(name: str, blazeface: BlazeFace, face_detector: Mtcnn) -> None:
    photo = load_photo(name)
    expected = face_detector.detect_faces(photo)
    found = blazeface.detect_faces(photo)
    assert len(found) == len(expected) == 1
    assert box_iou(found[0].box, expected[0].box) >= 0.5
    # five landmarks in MTCNN's order: eyes and nose within 0.15 eye distances of MTCNN's, the
    # estimated mouth corners within 0.3 (a smile widens the mouth)
    ours, theirs = np.array(found[0].landmarks), np.array(expected[0].landmarks)
    errors = np.linalg.norm(ours - theirs, axis=1) / np.linalg.norm(theirs[1] - theirs[0])
    assert ours.shape == (5, 2)
    assert errors[:3].max() < 0.15 and errors[3:].max() < 0.3


def test_mouth_corner_spacing_is_mtcnns_on_the_mean_face() -> None:
    from vcm.models.blazeface import MOUTH_HALF_WIDTH
    from vcm.privacy.generic_face import mean_lfw_face

    landmarks = mean_lfw_face().landmarks  # MTCNN on the mean LFW face
    mouth, eyes = landmarks[4] - landmarks[3], landmarks[1] - landmarks[0]
    assert pytest.approx(np.linalg.norm(mouth) / 2 / np.linalg.norm(eyes), abs=0.01) == MOUTH_HALF_WIDTH


def test_no_face_in_noise_or_flat_frames(blazeface: BlazeFace) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert blazeface.detect_faces(noise) == []
    assert blazeface.detect_faces(np.full((240, 320, 3), 128, np.uint8)) == []


def test_rejects_non_rgb_input(blazeface: BlazeFace) -> None:
    with pytest.raises(ValueError, match="RGB"):
        blazeface.detect_faces(np.zeros((10, 10), np.uint8))


def test_anchor_layout() -> None:
    centres = anchor_centres()
    assert centres.shape == (896, 2)
    assert centres[0].tolist() == centres[1].tolist() == [8.0, 8.0]
    assert centres[2].tolist() == [24.0, 8.0]
    assert centres[32].tolist() == [8.0, 24.0]
    assert centres[512].tolist() == centres[517].tolist() == [16.0, 16.0]
    assert centres[-1].tolist() == [240.0, 240.0]


def test_weighted_nms_blends_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.6, 0.2, 0.9])
    merged, merged_scores = weighted_nms(boxes, scores, 0.3)  # IoU of the first two: 80 / 120
    np.testing.assert_allclose(merged, [[50, 50, 60, 60], [0.5, 0, 10.5, 10]])
    np.testing.assert_allclose(merged_scores, [0.9, 0.6])
    merged, _ = weighted_nms(boxes, scores, 0.7)
    assert len(merged) == 3
    assert weighted_nms(np.zeros((0, 4)), np.zeros(0), 0.3)[0].shape == (0, 4)


def test_registry(blazeface: BlazeFace) -> None:
    assert set(FACE_DETECTORS) == {"mtcnn", "blazeface", "mtcnn+blazeface", "dlib-hog"}
    assert load_face_detector("blazeface") is blazeface
    assert isinstance(load_face_detector(), Mtcnn)
    with pytest.raises(InputError, match="choose from mtcnn, blazeface"):
        load_face_detector("retinaface")


def test_either_detector_unites_faces_and_prefers_the_earlier_detectors(blazeface: BlazeFace) -> None:
    from PIL import Image

    from vcm.media.face_clips import load_photo
    from vcm.models.face_detectors import EitherFaceDetector

    side = 320
    portraits = [np.asarray(Image.fromarray(load_photo(name)).resize((side, side)))
                 for name in ("obama", "biden")]
    pair = np.concatenate(portraits, axis=1)  # two faces, one per half
    mtcnn = load_face_detector("mtcnn")
    for first, second in ((mtcnn, blazeface), (blazeface, mtcnn)):
        faces = EitherFaceDetector([first, second]).detect_faces(pair)
        assert len(faces) == 2
        assert sorted(face.box[0] < side for face in faces) == [False, True]
        own = first.detect_faces(pair)
        assert {face.box for face in faces} == {face.box for face in own}  # the earlier one's faces
    left_only = EitherFaceDetector([mtcnn]).detect_faces(pair[:, :side])
    assert len(left_only) == 1
