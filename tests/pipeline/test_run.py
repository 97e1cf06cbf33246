"""The streaming pipeline with the real codec and detector: it pulls frames as it codes them,
keeps nothing per frame unless asked, and checks the frames it is told to check."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vcm.codec import decode
from vcm.errors import InputError
from vcm.models import YoloV3Tiny
from vcm.pipeline import FrameReport, Verification, run_method, windows
from vcm.planners import PlanSettings


def test_windows_cut_a_stream_into_bounded_chunks() -> None:
    chunks = list(windows((np.full((2, 2, 3), i, np.uint8) for i in range(10)), 4))
    assert [(start, len(chunk)) for start, chunk in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert chunks[2][1][1, 0, 0, 0] == 9


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
