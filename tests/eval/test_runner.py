"""The harness end to end on a 2-segment run (real detector, real codec)."""

import csv
import json
from pathlib import Path

import pytest

from vcm.cli import main


def test_two_segment_run_writes_every_file(tmp_path: Path, sample_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "clip.mp4"
    assert main(["encode", str(sample_path), "-o", str(clip), "--frames", "8", "--qp-map",
                 str(_map(tmp_path)), "--codec", "h264"]) == 0
    out = tmp_path / "eval"
    code = main(["eval", str(clip), "--methods", "uniform,bbox,fast", "--segment", "4",
                 "--ladder", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    for name in ("results.csv", "results.json", "summary.json", "index.html", "size_ratio.png",
                 "detection_rate.png", "rate_accuracy.png"):
        assert (out / name).stat().st_size > 0, name
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["segment"], r["method"]) for r in rows if r["main"] == "True"} == {
        (s, m) for s in ("0", "1") for m in ("uniform", "bbox", "fast")}
    uniform = [r for r in rows if r["method"] == "uniform" and r["point"] == "qp30"]
    assert all(float(r["size_ratio"]) == pytest.approx(1.0, abs=0.02) for r in uniform)
    summary = json.loads((out / "summary.json").read_text())
    assert {m["method"] for m in summary["methods"]} == {"uniform", "bbox", "fast"}
    assert len(summary["curves"]["uniform"]) == 7  # QP 22, 26, ..., 46
    page = (out / "index.html").read_text()
    assert page.count("<img") >= 3 + 3 and "frames/clip_fast_f000.png" in page
    assert all((out / p).exists() for p in ["frames/clip_fast_f000.png", "frames/clip_bbox_f003.png"])
    again = tmp_path / "segment1.json"
    assert main(["summary", str(out / "results.json"), "--segments", "1:2", "--json", str(again)]) == 0
    second = json.loads(again.read_text())
    assert {m["method"]: m["segments"] for m in second["methods"]} == {"uniform": 1, "bbox": 1, "fast": 1}
    fast = next(r for r in rows if r["method"] == "fast" and r["segment"] == "1" and r["main"] == "True")
    assert next(m for m in second["methods"] if m["method"] == "fast")["mean_detection_rate"] == float(
        fast["detection_rate"])
    assert main(["summary", str(out / "results.json"), "--segments", "5:6"]) == 1
    assert "no rows for segments 5:6" in capsys.readouterr().err
    assert main(["summary", str(out / "results.json"), str(out / "results.json")]) == 1
    assert "more than once" in capsys.readouterr().err
    assert main(["summary", str(out / "summary.json")]) == 1  # not a results.json
    assert "is not a results.json" in capsys.readouterr().err


def _map(folder: Path) -> Path:
    import numpy as np

    path = folder / "map.npy"
    np.save(path, np.full((36, 48), 24))
    return path


def test_first_segment_skips_earlier_segments(sample_path: Path) -> None:
    from vcm.eval.runner import EvalConfig, segments
    from vcm.models import load_detector

    config = EvalConfig(methods=["uniform"], segment=3, first_segment=2, max_segments=2,
                        detector="yolov3-tiny")
    chosen = list(segments([sample_path], config, load_detector("yolov3-tiny")))
    assert [(s.index, s.start, len(s.frames)) for s in chosen] == [(2, 6, 3), (3, 9, 3)]


def test_lost_targets_report_their_headroom() -> None:
    from vcm.eval.runner import lost_headroom
    from vcm.models.detector import Detection
    from vcm.targets import TargetSpec

    def person(score: float) -> Detection:
        return Detection((10.0, 10.0, 50.0, 90.0), score, 0, "person")

    original = [[person(0.72), person(0.95)], [person(0.9)], [person(0.5)]]  # 0.5: below min_score
    survived = [[False, False], [True], []]
    headroom = lost_headroom(original, survived, TargetSpec(min_score=0.7))
    assert headroom == pytest.approx([0.02, 0.25])
