"""Pose as the planners' task: eval plans for MoveNet poses and measures both tasks."""

import csv
import json
from pathlib import Path

import pytest

from vcm.cli import main


@pytest.mark.slow
def test_pose_task_is_planned_for_and_measured_beside_detection(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vcm.media.face_clips import face_clip_files

    clip = next(p for p in face_clip_files() if p.stem == "obama3")  # one standing person
    out = tmp_path / "eval"
    code = main(["eval", str(clip), "--methods", "uniform,fast", "--segment", "6", "--max-segments", "1",
                 "--task", "pose", "--ladder", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with (out / "results.csv").open() as handle:
        rows = {(r["method"], r["point"]): r for r in csv.DictReader(handle)}
    # both tasks are measured on every encode: objects (YOLO) and poses (OKS)
    assert all(r["pose_accuracy"] != "" and r["detection_rate"] != "" for r in rows.values())
    fine = float(rows["uniform", "qp22"]["pose_accuracy"])
    coarse = float(rows["uniform", "qp46"]["pose_accuracy"])
    assert fine >= 0.8  # a near-lossless encode keeps the original's pose
    assert coarse <= fine
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["task"] == "pose"
    assert all(m["mean_pose_accuracy"] is not None for m in summary["methods"])
    assert "Pose accuracy" in (out / "index.html").read_text()
