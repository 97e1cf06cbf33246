"""The harness end to end on a 2-segment run (real detector, real codec)."""

import csv
import json
from pathlib import Path

import pytest

from vcm.cli import main


@pytest.mark.slow
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
    reference = _uniform30_bytes(clip, tmp_path)  # the size ratio's denominator, coded here independently
    for row in rows:
        assert float(row["size_ratio"]) == round(int(row["bytes"]) / reference[int(row["segment"])], 4), row
    for segment in ("0", "1"):
        ratios = [float(r["size_ratio"]) for qp in (22, 26, 30, 34, 38, 42, 46) for r in rows
                  if r["method"] == "uniform" and r["segment"] == segment and r["point"] == f"qp{qp}"]
        assert len(ratios) == 7 and ratios[2] == 1.0 and ratios == sorted(ratios, reverse=True)
        assert len(set(ratios)) == 7 and ratios[0] > 1.5 and ratios[-1] < 0.5, ratios
        bbox = next(r for r in rows
                    if r["method"] == "bbox" and r["segment"] == segment and r["main"] == "True")
        assert float(bbox["size_ratio"]) < 1.0  # painted black outside the boxes, the same QP
        f1 = [float(r["f1"]) for qp in (22, 46) for r in rows
              if r["method"] == "uniform" and r["segment"] == segment and r["point"] == f"qp{qp}"]
        assert f1[0] > 0.8 and f1[1] < f1[0], f1  # near the original at QP 22, lower at QP 46
    summary = json.loads((out / "summary.json").read_text())
    assert {m["method"] for m in summary["methods"]} == {"uniform", "bbox", "fast"}
    assert len(summary["curves"]["uniform"]) == 7  # QP 22, 26, ..., 46
    fast_bd = next(e for e in summary["bd_rate"] if e["method"] == "fast" and e["reference"] == "uniform")
    assert "bd_rate_f1_percent" in fast_bd
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


def _uniform30_bytes(clip: Path, folder: Path) -> list[int]:
    """Bytes of each 4-frame segment of `clip` coded by x265 at QP 30 (GOP 32), straight
    through the encoder rather than the harness."""
    from vcm.codec import encode
    from vcm.media import read_video

    video = read_video(clip)
    return [encode(video.frames[start:start + 4], 30, folder / f"reference{start}.mp4", codec="hevc", gop=32,
                   fps=video.fps).total_bytes for start in (0, 4)]


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


def test_segment_stride_spreads_segments_over_the_video(sample_path: Path) -> None:
    from vcm.eval.runner import EvalConfig, segments
    from vcm.models import load_detector

    config = EvalConfig(methods=["uniform"], segment=3, first_segment=1, segment_stride=4, max_segments=3,
                        detector="yolov3-tiny")
    chosen = list(segments([sample_path], config, load_detector("yolov3-tiny")))
    assert [(s.index, s.start) for s in chosen] == [(1, 3), (5, 15), (9, 27)]


def test_segment_stride_below_one_is_refused() -> None:
    from vcm.errors import InputError
    from vcm.eval.runner import EvalConfig

    with pytest.raises(InputError, match="--segment-stride"):
        EvalConfig(methods=["uniform"], segment_stride=0)


def test_lost_targets_report_their_headroom() -> None:
    from vcm.eval.runner import lost_headroom
    from vcm.models.detector import Detection
    from vcm.tasks.targets import TargetSpec

    def person(score: float) -> Detection:
        return Detection((10.0, 10.0, 50.0, 90.0), score, 0, "person")

    original = [[person(0.72), person(0.95)], [person(0.9)], [person(0.5)]]  # 0.5: below min_score
    survived = [[False, False], [True], []]
    headroom = lost_headroom(original, survived, TargetSpec(min_score=0.7))
    assert headroom == pytest.approx([0.02, 0.25])


def test_detection_rate_is_confident_targets_still_found_at_0_7() -> None:
    """Targets are the original's detections with score >= 0.7; one survives when the decoded
    frame has a detection of its class with score >= 0.7 and IoU >= 0.5 with it. Built by hand:
    5 targets, 2 survive."""
    import numpy as np

    from vcm.eval.runner import Decoded, EvalConfig, Segment, measure
    from vcm.models.detector import Detection
    from vcm.pipeline import EncodeReport
    from vcm.planners import LadderPoint, PlanSettings
    from vcm.tasks.targets import TargetSpec

    def person(x: float, score: float, class_id: int = 0) -> Detection:
        return Detection((x, 10.0, x + 40.0, 90.0), score, class_id, "car" if class_id else "person")

    original = [[person(10, 0.9), person(100, 0.72), person(200, 0.5)],  # 0.5: not a target
                [person(10, 0.8, class_id=2)],
                [person(10, 0.75)],
                [person(10, 0.95)]]
    decoded = [[person(12, 0.71), person(100, 0.69), person(200, 0.95)],  # kept; lost (0.69); not counted
               [person(10, 0.99)],  # the right box with another class: lost
               [person(30, 0.99)],  # IoU 1600 / 4800 = 1/3: lost
               [person(10, 0.7)]]  # exactly 0.7: kept
    luma = np.random.default_rng(0).integers(0, 256, (4, 16, 16), dtype=np.uint8)
    segment = Segment(video="v.mp4", index=0, start=0, frames=np.zeros((4, 16, 16, 3), np.uint8), fps=10.0,
                      detections=original)
    report = EncodeReport(method="xai", path="s.mp4", codec="hevc", width=16, height=16, fps=10.0, gop=32,
                          settings={}, frame_count=4, total_bytes=600, decoded_luma=luma)
    # a point planned to keep only 0.5 is still measured at 0.7
    point = LadderPoint("keep0.5", False, PlanSettings(targets=TargetSpec(keep_score=0.5)))
    row = measure(report, segment, point, 1200, luma, EvalConfig(methods=["xai"]), Decoded(decoded))
    assert row.detection_rate == 0.4 and row.lost_targets == 3 and row.lost_frames == 3
    assert row.size_ratio == 0.5


def test_every_method_has_its_rate_ladder() -> None:
    from vcm.eval.runner import EvalConfig, ladder

    def points(method: str, full: bool) -> list[tuple[str, bool]]:
        return [(p.label, p.main) for p in ladder(method, EvalConfig(methods=[method], ladder=full))]

    expected = {
        "uniform": ["qp22", "qp26", "qp30", "qp34", "qp38", "qp42", "qp46"],
        "bbox": ["qp26", "qp30", "qp34", "qp38"],
        "frame-qp": ["keep0.7", "keep0.5", "keep0.3"],
        "xai": ["keep0.7", "keep0.6", "keep0.5"],
        "fast": ["offset-6", "offset-3", "offset0", "offset3", "offset6"],
        "learned": ["margin0", "margin3", "margin6"],
    }
    main = {"uniform": "qp30", "bbox": "qp30", "frame-qp": "keep0.7", "xai": "keep0.7", "fast": "offset0",
            "learned": "margin0"}
    for method, labels in expected.items():
        assert points(method, True) == [(label, label == main[method]) for label in labels], method
        assert points(method, False) == [(main[method], True)], method
    uniform = ladder("uniform", EvalConfig(methods=["uniform"], ladder=True))
    assert {p.label: p.settings.qp for p in uniform} == {
        "qp22": 22, "qp26": 26, "qp30": 30, "qp34": 34, "qp38": 38, "qp42": 42, "qp46": 46}
    xai = ladder("xai", EvalConfig(methods=["xai"], ladder=True))
    assert [(p.settings.targets.min_score, p.settings.targets.keep_score) for p in xai] == [
        (0.7, 0.7), (0.7, 0.6), (0.7, 0.5)]  # the targets stay the same, the score kept falls
    fast = ladder("fast", EvalConfig(methods=["fast"], ladder=True))
    assert [p.config.offset for p in fast] == [-6, -3, 0, 3, 6]  # every QP of the plan shifted


def test_reference_codings_are_measured_beside_the_methods(tmp_path: Path, sample_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    code = main(["eval", str(sample_path), "--methods", "uniform", "--references", "crf,half-res",
                 "--segment", "6", "--max-segments", "1", "--measured-by", "yolov3-tiny", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with (out / "results.csv").open() as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"uniform", "crf", "half-res"}
    assert rows["crf"]["point"] == "crf28" and rows["half-res"]["point"] == "qp30"
    half, uniform = rows["half-res"], rows["uniform"]
    # a quarter of the pixels at the same QP: far fewer bytes, and less detail once scaled back
    assert float(half["size_ratio"]) < 0.5 and float(half["psnr_y_db"]) < float(uniform["psnr_y_db"])
    assert 0.0 <= float(rows["crf"]["f1"]) <= 1.0 and float(rows["crf"]["bytes"]) > 0
    assert (out / "streams" / "vtest_s000_crf_crf28.mp4").stat().st_size > 0
    # judged by another detector than the one that planned: a column of its own, and in the summary
    assert all(0.0 <= float(row["f1_yolov3-tiny"]) <= 1.0 for row in rows.values())
    summary = json.loads((out / "summary.json").read_text())
    assert all("mean_f1_yolov3-tiny" in entry for entry in summary["methods"])
    assert main(["eval", str(sample_path), "--measured-by", "nanodet", "--out", str(tmp_path / "y")]) == 1
    assert "is the planning detector" in capsys.readouterr().err
    assert main(["eval", str(sample_path), "--references", "av1", "--out", str(tmp_path / "x")]) == 1
    assert "unknown reference coding 'av1'; choose from crf, half-res" in capsys.readouterr().err
