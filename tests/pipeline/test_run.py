"""The streaming pipeline with the real codec and detector: it pulls frames as it codes them,
keeps nothing per frame unless asked, and checks the frames it is told to check."""

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.codec import QPMap, decode
from vcm.errors import InputError
from vcm.models import YoloV3Tiny
from vcm.models.detector import Detection
from vcm.pipeline import Edits, FrameReport, Verification, repair_map, run_method
from vcm.planners import FastConfig, PlanSettings
from vcm.preedit.network import PreEditor
from vcm.tasks.targets import TargetSpec, survives


def test_frames_are_pulled_as_they_are_coded(tmp_path: Path, frames: np.ndarray,
                                             detector: YoloV3Tiny) -> None:
    small = np.ascontiguousarray(frames[:, :96, :128])
    pulled = 0
    pulled_at_first_record: list[int] = []

    def source() -> Iterator[np.ndarray]:
        nonlocal pulled
        for _ in range(5):
            for frame in small:
                pulled += 1
                yield frame

    def record(frame: FrameReport) -> None:
        if not pulled_at_first_record:
            pulled_at_first_record.append(pulled)

    report = run_method("uniform", source(), 10.0, tmp_path / "out.mkv", detector, PlanSettings(gop=8),
                        verify=Verification(enabled=False), on_frame=record)
    assert report.frame_count == 60 and pulled == 60
    assert pulled_at_first_record[0] <= 16  # one 8-frame window (+ the next being read), not the whole input
    assert report.frames == [] and report.decoded_rgb is None  # nothing kept per frame
    assert report.detection_rate is None and report.checked_frames == 0
    assert len(decode(tmp_path / "out.mkv").frames) == 60


def test_verification_checks_every_nth_frame(tmp_path: Path, frames: np.ndarray,
                                             detector: YoloV3Tiny) -> None:
    records: list[FrameReport] = []
    report = run_method("fast", frames[:6], 10.0, tmp_path / "out.mp4", detector, PlanSettings(),
                        verify=Verification(every=2), on_frame=records.append, keep_frames=True)
    assert [r.survived is not None for r in records] == [True, False, True, False, True, False]
    assert report.checked_frames == 3 and report.detection_rate is not None
    assert report.targets_total == sum(len(r.survived or []) for r in records) > 0
    assert report.decoded_rgb is not None and report.decoded_rgb.shape == (6, 576, 768, 3)


def test_an_unknown_planner_is_refused_before_any_output(tmp_path: Path, frames: np.ndarray,
                                                         detector: YoloV3Tiny) -> None:
    with pytest.raises(InputError, match="unknown planner 'magic'"):
        run_method("magic", frames[:2], 10.0, tmp_path / "out.mp4", detector, PlanSettings())
    assert list(tmp_path.iterdir()) == []


def test_default_settings_code_one_i_then_31_p(tmp_path: Path, frames: np.ndarray,
                                              detector: YoloV3Tiny) -> None:
    clip = np.ascontiguousarray(np.concatenate([frames] * 6)[:65, 200:296, 300:428])  # 65 frames, 128x96
    report = run_method("uniform", clip, 10.0, tmp_path / "out.mp4", detector, PlanSettings(),
                        verify=Verification(enabled=False), keep_frames=True)
    expected = ("I" + "P" * 31) * 2 + "I"  # what `vcm encode` and `vcm eval` code: no B-frames
    assert "".join(frame.picture_type for frame in report.frames) == expected
    assert decode(tmp_path / "out.mp4", keep_frames=False).picture_types() == expected


def test_repair_map_lowers_qp_around_lost_targets_only() -> None:
    lost = [Detection((40.0, 40.0, 60.0, 60.0), 0.9, 0, "person"),
            Detection((400.0, 300.0, 430.0, 360.0), 0.8, 0, "person")]
    blocks = repair_map(QPMap(34), lost, 768, 576).dense(36, 48)
    expected = np.full((36, 48), 34)
    expected[1:5, 1:5] = 30  # pixels 24..76 (the box and 16 px around it): blocks 1..4
    expected[17:24, 24:28] = 30  # rows 284..376 -> 17..23, columns 384..446 -> 24..27
    assert np.array_equal(blocks, expected)
    assert repair_map(QPMap(2), lost[:1], 768, 576).dense(36, 48).min() == 0  # never below QP 0
    neighbour = Detection((60.0, 40.0, 90.0, 60.0), 0.7, 0, "person")  # its surroundings overlap the first's
    blocks = repair_map(QPMap(34), [lost[0], neighbour], 768, 576).dense(36, 48)
    assert blocks[1:5, 2:5].max() == 26 and blocks[1:5, 1].max() == 30  # lowered once per target around


def test_repair_recodes_until_the_lost_targets_survive(tmp_path: Path, frames: np.ndarray,
                                                       detector: YoloV3Tiny) -> None:
    clip, spec = frames[:2], TargetSpec()
    plain = run_method("uniform", clip, 10.0, tmp_path / "plain.mp4", detector, PlanSettings(qp=34),
                       keep_frames=True)
    lost = [[target for target, kept in zip(frame.targets, frame.survived or [], strict=True)
             if not kept] for frame in plain.frames]
    assert all(lost), "uniform QP 34 loses a target in each of the sample's first two frames"
    repaired = run_method("uniform", clip, 10.0, tmp_path / "repaired.mp4", detector, PlanSettings(qp=34),
                          verify=Verification(repair_rounds=2), keep_frames=True)
    assert repaired.lost_before_repair == len(lost) and repaired.repair_rounds == 2
    assert repaired.targets_total == plain.targets_total and repaired.targets_kept == repaired.targets_total
    stream = decode(tmp_path / "repaired.mp4", read_qp=False).rgb  # the file itself, decoded again
    for decoded, record in zip(stream, repaired.frames, strict=True):
        found = detector.detect(decoded[None])[0]
        assert all(survives(target, found, spec) for target in record.targets)
    for record, frame_lost in zip(repaired.frames, lost, strict=True):
        blocks = np.array(record.qp_map)
        assert ((34 - blocks) % 4 == 0).all() and blocks.min() < 34  # whole steps of 4 down from 34
        near = np.zeros(blocks.shape, dtype=bool)  # blocks touching a lost box grown by 16 px
        for target in frame_lost:
            x1, y1, x2, y2 = target.box
            rows = (np.arange(36) * 16 < y2 + 16) & (np.arange(36) * 16 + 16 > y1 - 16)
            cols = (np.arange(48) * 16 < x2 + 16) & (np.arange(48) * 16 + 16 > x1 - 16)
            near |= rows[:, None] & cols[None, :]
            centre = int((y1 + y2) / 2) // 16, int((x1 + x2) / 2) // 16
            assert blocks[centre] < 34
        assert (blocks[~near] == 34).all()


def test_a_qp_aware_pre_editor_edits_for_the_planned_map(tmp_path: Path, frames: np.ndarray,
                                                         detector: YoloV3Tiny) -> None:
    editor = PreEditor(qp_aware=True)
    assert editor.qp_slope is not None
    with torch.no_grad():
        editor.qp_slope.copy_(torch.tensor([0.0, 0.0, 0.0, 8.0]))  # the strongest blur from QP ~40 on
    clip = np.ascontiguousarray(frames[:4, 64:320, 256:512])
    sizes = {}
    for qp in (22, 40):
        for name, edits in (("plain", Edits()), ("edited", Edits(preeditor=editor, preedit_detections=True))):
            report = run_method("uniform", clip, 10.0, tmp_path / f"{name}{qp}.mp4", detector,
                                PlanSettings(qp=qp), edits=edits, verify=Verification(enabled=False))
            sizes[name, qp] = report.total_bytes
    assert sizes["edited", 22] == sizes["plain", 22]  # at QP 22 this editor is the identity
    assert sizes["edited", 40] < 0.9 * sizes["plain", 40], sizes


def test_a_stream_coded_into_memory_decodes_from_bytes(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    from vcm.codec.decoder import decoded_frames

    segment = io.BytesIO()
    report = run_method("uniform", np.ascontiguousarray(frames[:3, :96, :128]), 10.0, segment, detector,
                        PlanSettings(qp=30, gop=2), verify=Verification(enabled=False))
    info, decoded = decoded_frames(segment.getvalue(), read_qp=False)
    assert (info.width, info.height, info.codec) == (128, 96, "hevc")
    assert [record.picture_type for record, _, _ in decoded] == ["I", "P", "I"]
    assert report.path == "memory" and report.total_bytes < len(segment.getvalue())


def test_a_closed_loop_planner_hears_each_check_before_planning_the_next_frame(
        tmp_path: Path, frames: np.ndarray, detector: YoloV3Tiny) -> None:
    def maps(config: FastConfig) -> list[np.ndarray]:
        records: list[FrameReport] = []
        run_method("fast", frames[:6], 10.0, tmp_path / "out.mp4", detector, PlanSettings(), config=config,
                   verify=Verification(every=1), on_frame=records.append)
        return [record.qp_map for record in records]

    open_loop, closed = maps(FastConfig(loop_down=0)), maps(FastConfig())
    assert (open_loop[0] == closed[0]).all()  # nothing decoded yet
    assert not (open_loop[1] == closed[1]).all()  # frame 0's check already steers frame 1


def test_a_closed_loop_planner_hears_only_the_checks_it_is_told_to_steer_by(
        tmp_path: Path, frames: np.ndarray, detector: YoloV3Tiny) -> None:
    def maps(steer_every: int) -> list[np.ndarray]:
        records: list[FrameReport] = []
        run_method("fast", frames[:4], 10.0, tmp_path / "out.mp4", detector, PlanSettings(),
                   config=FastConfig(loop_down=4), verify=Verification(every=1, steer_every=steer_every),
                   on_frame=records.append)
        assert all(record.survived is not None for record in records)  # every frame still checked
        return [record.qp_map for record in records]

    every, every_2nd = maps(1), maps(2)
    assert (every[1] == every_2nd[1]).all()  # frame 0 steers both
    assert not (every[2] == every_2nd[2]).all()  # frame 1 steers only the first


def test_the_pre_editor_leaves_what_the_planner_protects(frames: np.ndarray) -> None:
    """Blocks coded finer than the frame's coarsest QP (what a planner keeps, unsure finds
    included) stay as they are, even with --preedit-detections; a uniform map protects nothing."""
    from vcm.pipeline.run import _Editor
    from vcm.planners.base import FramePlan

    editor = PreEditor()
    with torch.no_grad():
        editor.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 9.0]))  # the strongest blur everywhere
    picture = np.ascontiguousarray(frames[0, :96, :128])
    blocks = np.full((6, 8), 51, dtype=np.int16)
    blocks[1:3, 2:5] = 30  # a protected rectangle: pixel rows 16-47, columns 32-79
    maps = [QPMap(51, blocks), QPMap(30)]
    plans = [FramePlan(rgb=picture, qp_map=qp_map) for qp_map in maps]
    planned, uniform = _Editor(Edits(preeditor=editor, preedit_detections=True), None).preedit(
        plans, maps, [None, None])
    change = np.abs(planned.astype(int) - picture).sum(axis=2)
    assert (change[16:48, 32:80] == 0).all()
    assert change[60:, :].mean() > 2 and np.abs(uniform.astype(int) - picture).mean() > 2
