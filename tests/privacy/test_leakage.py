"""Identity leak measurement with the real face models, on a real face clip."""

from pathlib import Path

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode
from vcm.models import YoloV3Tiny
from vcm.models.dlib_identity import DlibIdentity
from vcm.models.faces import Face, detect_faces
from vcm.models.mtcnn import Mtcnn
from vcm.privacy.leakage import measure_leakage, privacy_report


def _coded(frames: np.ndarray, qp: int, folder: Path) -> np.ndarray:
    path = folder / f"qp{qp}.mp4"
    encode(frames, [QPMap(qp)] * len(frames), path)
    return decode(path).rgb


def test_plain_coding_leaks_and_the_person_stays(tmp_path: Path, face_video: np.ndarray, face_detector: Mtcnn,
                                                 face_identity: DlibIdentity, detector: YoloV3Tiny) -> None:
    frames = face_video[:3]
    report = privacy_report(frames, _coded(frames, 30, tmp_path), face_detector=face_detector,
                            identity=face_identity, detector=detector)
    assert report.recognisable == 3 and report.too_small == 0
    assert report.leak_rate == 1.0
    assert all(face.distance is not None and face.distance < 0.4 for face in report.faces)
    assert report.person_targets == 3 and report.person_detection_rate is not None
    payload = report.to_dict()
    assert payload["faces_leaked"] == 3 and len(payload["faces"]) == 3


def test_a_flat_grey_decode_leaks_nothing(face_video: np.ndarray, face_detector: Mtcnn,
                                          face_identity: DlibIdentity) -> None:
    frames = face_video[:2]
    grey = np.full_like(frames, 128)
    records = measure_leakage(frames, grey, detect_faces(frames, face_detector), face_identity)
    assert [r.status for r in records] == ["protected", "protected"]
    assert all(r.distance is not None and r.distance >= face_identity.match_distance for r in records)


def test_small_faces_are_reported_not_counted(face_video: np.ndarray, face_detector: Mtcnn,
                                              face_identity: DlibIdentity) -> None:
    frames = face_video[:1]
    faces = detect_faces(frames, face_detector)
    records = measure_leakage(frames, frames, faces, face_identity, min_face_px=faces[0][0].size + 1)
    assert [r.status for r in records] == ["too_small"] and records[0].distance is None
    face = faces[0][0]  # by default a face is too small below 16 px on its shorter side
    x1, y1, x2, y2 = face.box
    boxes = [(x1, (y1 + y2 - side) / 2, x2, (y1 + y2 + side) / 2) for side in (15.9, 16.0)]  # as wide, lower
    records = measure_leakage(frames, frames, [[Face(box, face.score, face.landmarks) for box in boxes]],
                              face_identity)
    assert [r.status for r in records] == ["too_small", "leaked"] and records[1].distance is not None


def test_mismatched_clips_are_rejected(face_video: np.ndarray, face_identity: DlibIdentity) -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        measure_leakage(face_video[:2], face_video[:1], [[], []], face_identity)
