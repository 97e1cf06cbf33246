"""Identity leak measurement with the real face models, on a real face clip."""

from pathlib import Path

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode
from vcm.models import YoloV3Tiny
from vcm.models.dlib_identity import DlibIdentity
from vcm.models.faces import Face, FaceIdentity, detect_faces
from vcm.models.mtcnn import Mtcnn
from vcm.privacy.attacks import ATTEMPTS, CONTEXT
from vcm.privacy.leakage import measure_leakage, privacy_report


def _coded(frames: np.ndarray, qp: int, folder: Path) -> np.ndarray:
    path = folder / f"qp{qp}.mp4"
    encode(frames, [QPMap(qp)] * len(frames), path)
    return decode(path).rgb


def test_plain_coding_leaks_and_the_person_stays(tmp_path: Path, face_video: np.ndarray, face_detector: Mtcnn,
                                                 attackers: dict[str, FaceIdentity],
                                                 detector: YoloV3Tiny) -> None:
    frames = face_video[:3]
    report = privacy_report(frames, _coded(frames, 30, tmp_path), face_detector=face_detector,
                            attackers=attackers, detector=detector)
    assert report.recognisable == 3 and report.too_small == 0
    assert report.leak_rate == report.leak_rate_as_decoded == 1.0
    assert all(report.leak_rate_to(name) == 1.0 for name in attackers)
    for face in report.faces:  # every attacker matches every attempt, by a wide margin
        assert face.leaked_to == list(attackers) and set(face.distances) == set(attackers)
        for name, identity in attackers.items():
            assert set(face.distances[name]) == {*ATTEMPTS, CONTEXT}
            assert max(face.distances[name][attempt] for attempt in ATTEMPTS) < 0.7 * identity.match_distance
            assert face.distances[name][CONTEXT] >= identity.match_distance  # without the face: no match
    assert report.leak_rate_raw == 1.0 and report.measurable == 3
    assert report.person_targets == 3 and report.person_detection_rate is not None
    payload = report.to_dict()
    assert payload["faces_leaked"] == 3 and len(payload["faces"]) == 3
    assert payload["leak_rate_to"] == {"dlib-resnet": 1.0, "faceres": 1.0}


def test_a_flat_grey_decode_leaks_nothing(face_video: np.ndarray, face_detector: Mtcnn,
                                          attackers: dict[str, FaceIdentity]) -> None:
    frames = face_video[:2]
    grey = np.full_like(frames, 128)
    records = measure_leakage(frames, grey, detect_faces(frames, face_detector), attackers)
    assert [r.status for r in records] == ["protected", "protected"]
    assert all(r.leaked_to == [] and r.measured_by == list(attackers) for r in records)
    for record in records:
        for name, identity in attackers.items():
            assert min(record.distances[name][attempt] for attempt in ATTEMPTS) >= identity.match_distance


def test_a_face_whose_surroundings_alone_match_is_not_counted(face_video: np.ndarray, face_detector: Mtcnn,
                                                              face_identity: DlibIdentity) -> None:
    frames = face_video[:1]
    face = detect_faces(frames, face_detector)[0][0]
    x1, y1, x2, y2 = face.box
    inner = Face((x1 + 0.3 * (x2 - x1), y1 + 0.3 * (y2 - y1), x2 - 0.3 * (x2 - x1), y2 - 0.3 * (y2 - y1)),
                 face.score, face.landmarks)  # a box around the nose: the eyes and mouth stay in the control
    records = measure_leakage(frames, frames, [[inner]], {"dlib-resnet": face_identity})
    assert records[0].distances["dlib-resnet"][CONTEXT] < face_identity.match_distance
    assert records[0].status == "context" and records[0].measured_by == []


def test_averaging_neighbouring_frames_undoes_noise_that_differs_per_frame(
        face_video: np.ndarray, face_detector: Mtcnn, face_identity: DlibIdentity) -> None:
    frames = face_video[:5]
    noise = np.random.default_rng(0).normal(0, 60, frames.shape)
    noisy = np.clip(frames + noise, 0, 255).astype(np.uint8)
    faces = detect_faces(frames, face_detector)
    assert all(len(found) == 1 for found in faces)
    records = measure_leakage(frames, noisy, faces, {"dlib-resnet": face_identity})
    middle = records[2].distances["dlib-resnet"]  # two frames on either side to average
    assert middle["averaged"] < middle["decoded"] - 0.05, middle
    assert middle["averaged"] < face_identity.match_distance and records[2].status == "leaked"


def test_small_faces_are_reported_not_counted(face_video: np.ndarray, face_detector: Mtcnn,
                                              face_identity: DlibIdentity) -> None:
    frames = face_video[:1]
    faces = detect_faces(frames, face_detector)
    records = measure_leakage(frames, frames, faces, {"dlib-resnet": face_identity},
                              min_face_px=faces[0][0].size + 1)
    assert [r.status for r in records] == ["too_small"] and records[0].distances == {}
    face = faces[0][0]  # by default a face is too small below 16 px on its shorter side
    x1, y1, x2, y2 = face.box
    boxes = [(x1, (y1 + y2 - side) / 2, x2, (y1 + y2 + side) / 2) for side in (15.9, 16.0)]  # as wide, lower
    records = measure_leakage(frames, frames, [[Face(box, face.score, face.landmarks) for box in boxes]],
                              {"dlib-resnet": face_identity})
    assert records[0].status == "too_small" and records[0].distances == {}
    assert records[1].status != "too_small" and records[1].distances["dlib-resnet"]["decoded"] < 0.1


def test_mismatched_clips_are_rejected(face_video: np.ndarray, face_identity: DlibIdentity) -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        measure_leakage(face_video[:2], face_video[:1], [[], []], {"dlib-resnet": face_identity})
