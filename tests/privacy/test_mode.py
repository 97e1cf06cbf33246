"""Privacy mode: concealment, face-block QP, and the leak rate it achieves through the real codec."""

from pathlib import Path

import numpy as np
import pytest

from vcm.codec import QPMap
from vcm.models import YoloV3Tiny
from vcm.models.faces import Face, FaceIdentity, detect_faces
from vcm.models.mtcnn import Mtcnn
from vcm.pipeline import Edits, Known, Verification, run_method
from vcm.planners import PlanSettings
from vcm.privacy import PrivacyConfig, privacy_report
from vcm.privacy.generic_face import GENERIC_FACES, similarity_transform
from vcm.privacy.mode import FaceConcealer, between, bound_face_blocks, conceal, ellipse_weight, held_faces


def test_similarity_transform_recovers_a_known_one() -> None:
    source = np.array([[0, 0], [10, 0], [5, 5], [0, 10], [10, 10]], float)
    angle = 0.3
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = 2.5 * source @ rotation.T + np.array([7.0, -3.0])
    scale, found_rotation, shift = similarity_transform(source, target)
    assert scale == pytest.approx(2.5)
    assert np.allclose(found_rotation, rotation) and np.allclose(shift, [7, -3])


def test_held_faces_cover_neighbouring_frames() -> None:
    face = Face((10, 10, 50, 50), 0.99)
    held = held_faces([[], [], [face], [], [], []], hold=1)
    assert [len(frame) for frame in held] == [0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("inner", [1.0, 1.25])
def test_conceal_touches_only_the_face_box_enlarged_by_inner(face_video: np.ndarray, face_detector: Mtcnn,
                                                             inner: float) -> None:
    frames = face_video[:1]
    faces = detect_faces(frames, face_detector)
    edited = conceal(frames, faces, GENERIC_FACES.entry("drawn")(), PrivacyConfig(inner=inner))
    x1, y1, x2, y2 = (int(v) for v in faces[0][0].box)
    changed = np.abs(edited.astype(int) - frames).sum(axis=-1)[0] > 0
    assert changed[y1 + 2:y2 - 2, x1 + 2:x2 - 2].mean() > 0.5
    grow_x, grow_y = int((inner - 1) * (x2 - x1) / 2) + 2, int((inner - 1) * (y2 - y1) / 2) + 2
    outside = changed.copy()
    outside[max(y1 - grow_y, 0):y2 + grow_y, max(x1 - grow_x, 0):x2 + grow_x] = False
    assert not outside.any()
    assert changed[y1 - grow_y + 2:y1, (x1 + x2) // 2].any() == (inner > 1)  # above the box: only when larger


def test_the_concealed_ellipse_fades_out_before_the_box_corners() -> None:
    face = Face((0, 0, 40, 60), 0.9)
    weight = ellipse_weight(face, (0, 0, 40, 60), inner=1.0)[0, 0]
    assert weight[30, 20] == 1.0 and weight[0, 0] == 0.0 and weight[59, 39] == 0.0
    assert 0 < weight[30, 1] < 1  # the rim is soft
    smaller = ellipse_weight(face, (0, 0, 40, 60), inner=0.85)[0, 0]
    assert smaller.sum() < weight.sum() and (smaller <= weight).all()
    with pytest.raises(ValueError, match="invalid privacy"):
        PrivacyConfig(inner=0)


def test_a_concealer_holds_a_face_into_the_next_window(face_video: np.ndarray, face_detector: Mtcnn) -> None:
    frames = face_video[:2]
    faces = detect_faces(frames, face_detector)
    concealer = FaceConcealer(PrivacyConfig(hold=1), face_detector)
    first, concealed = concealer.conceal(frames[:1], faces[:1])
    second, held = concealer.conceal(frames[1:], [[]])  # the detector missed it in the next window
    assert concealed == faces[:1] and held == faces[:1]
    assert (first != frames[:1]).any() and (second != frames[1:]).any()


def test_with_faces_concealed_the_detections_are_the_concealed_pictures(
        tmp_path: Path, face_video: np.ndarray, face_detector: Mtcnn, detector: YoloV3Tiny) -> None:
    frames = face_video[:2]
    faces = detect_faces(frames, face_detector)
    records: list = []
    run_method("uniform", frames, 10.0, tmp_path / "p.mp4", detector, PlanSettings(),
               edits=Edits(privacy=PrivacyConfig(), face_detector=face_detector), known=Known(faces=faces),
               verify=Verification(every=1), on_frame=records.append)
    concealed, _ = FaceConcealer(PrivacyConfig(), face_detector).conceal(frames, faces)
    expected = detector.detect(concealed)
    found = [record.detections for record in sorted(records, key=lambda record: record.index)]
    assert [[d.box for d in frame] for frame in found] == [[d.box for d in frame] for frame in expected]
    on_originals = detector.detect(frames)
    assert [[d.box for d in frame] for frame in found] != [[d.box for d in frame] for frame in on_originals]


def test_face_blocks_are_held_within_the_bounds_and_only_they() -> None:
    faces = [[Face((20, 20, 40, 40), 0.99)], []]
    coarsest = PrivacyConfig(face_qp=51, face_max_qp=None)
    maps = bound_face_blocks([QPMap(30), QPMap(30)], faces, 64, 64, coarsest)
    assert maps[0].dense(4, 4).tolist() == [[30] * 4, [30, 51, 51, 30], [30, 51, 51, 30], [30] * 4]
    assert maps[1].dense(4, 4).max() == 30
    coarse = QPMap.from_blocks(np.array([[40, 40, 40, 40], [40, 20, 45, 40], [40, 45, 45, 40], [40] * 4]))
    capped = bound_face_blocks([coarse], faces[:1], 64, 64, PrivacyConfig(face_max_qp=24))
    assert capped[0].dense(4, 4).tolist() == [[40] * 4, [40, 20, 24, 40], [40, 24, 24, 40], [40] * 4]
    assert bound_face_blocks([coarse], faces[:1], 64, 64, PrivacyConfig(face_max_qp=None)) == [coarse]
    with pytest.raises(ValueError, match="above face_max_qp"):
        PrivacyConfig(face_qp=40, face_max_qp=24)


@pytest.mark.slow
def test_privacy_mode_stops_the_leak_where_plain_coding_leaks(
        tmp_path: Path, face_video: np.ndarray, face_detector: Mtcnn, attackers: dict[str, FaceIdentity],
        detector: YoloV3Tiny) -> None:
    frames = face_video[:4]
    faces = detect_faces(frames, face_detector)
    leak, nearest = {}, {}
    for name, privacy in (("plain", None), ("private", PrivacyConfig())):
        report = run_method("uniform", frames, 10.0, tmp_path / f"{name}.mp4", detector, PlanSettings(),
                            edits=Edits(privacy=privacy), known=Known(faces=faces), keep_frames=True)
        result = privacy_report(frames, report.decoded_rgb, face_detector=face_detector,
                                attackers=attackers, detector=detector, faces=faces,
                                decoded_detections=report.decoded_detections)
        leak[name] = {attacker: result.leak_rate_to(attacker) for attacker in attackers}
        nearest[name] = min(distance / attackers["faceres"].match_distance for face in result.faces
                            for attempt, distance in face.distances["faceres"].items()
                            if attempt != "context")
        if privacy:
            assert report.method == "uniform+privacy" and report.settings["privacy"] == vars(privacy)
            assert result.person_detection_rate is not None and result.person_detection_rate >= 0.75
    assert leak["plain"] == {"dlib-resnet": 1.0, "faceres": 1.0} and leak["private"]["dlib-resnet"] == 0.0
    # FaceRes's distances on this 60 px face sit at its threshold after concealment (it may match
    # a frame), far below it after plain coding
    assert nearest["plain"] < 0.8 and nearest["private"] > 0.95


def test_between_searches_a_face_moves_linearly_and_an_unpartnered_one_stays() -> None:
    eyes = ((20.0, 20.0), (40.0, 20.0), (30.0, 30.0), (22.0, 40.0), (38.0, 40.0))
    before = [Face((10, 10, 50, 50), 0.9, eyes), Face((200, 10, 230, 40), 0.8)]
    after = [Face((30, 10, 70, 50), 0.7, tuple((x + 20, y) for x, y in eyes))]  # moved 20 px right
    halfway = between(before, after, 0.5)
    assert halfway[0].box == (20, 10, 60, 50) and halfway[0].landmarks[0] == (30.0, 20.0)
    assert halfway[0].score == 0.7 and halfway[1] == before[1]
    far = [Face((400, 10, 440, 50), 0.9)]  # further than its size: another face, both kept
    assert between(before[:1], far, 0.5) == [before[0], far[0]]


def test_a_concealer_searches_each_windows_last_and_every_stride_th_frame_before_it(
        face_video: np.ndarray, face_detector: Mtcnn) -> None:
    searched: list[int] = []

    class Counting:
        def detect_faces(self, frame: np.ndarray) -> list[Face]:
            searched.append(next(i for i, f in enumerate(face_video) if (f == frame).all()))
            return face_detector.detect_faces(frame)

    concealer = FaceConcealer(PrivacyConfig(stride=3, hold=0), Counting())  # type: ignore[arg-type]
    edited, faces = concealer.conceal(face_video[:5])
    more, later = concealer.conceal(face_video[5:6])
    assert searched == [0, 1, 4, 5]  # the video's first; 4 and 1 counted back from the window's last
    found = detect_faces(face_video[:5], face_detector)
    for index in (2, 3):  # followed between frames 1 and 4
        lows, highs = sorted((found[1][0].box[0], found[4][0].box[0]))
        assert len(faces[index]) == 1 and lows <= faces[index][0].box[0] <= highs
    assert all((edited[index] != face_video[index]).any() for index in range(5))
    assert len(later[0]) == 1 and (more != face_video[5:6]).any()
