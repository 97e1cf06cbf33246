"""Aggregation of result rows: segment shares and the BD-rate pairs."""

from vcm.eval.runner import ResultRow
from vcm.eval.summary import bd_pairs, method_summary


def _row(method: str, segment: int, size_ratio: float, detection_rate: float) -> ResultRow:
    return ResultRow(video="v.mp4", segment=segment, start_frame=33 * segment, frames=33, method=method,
                     point="main", main=True, bytes=int(1000 * size_ratio), bitrate_kbps=1.0,
                     size_ratio=size_ratio, detection_rate=detection_rate, lost_frames=0,
                     lost_before_repair=0, map50=1.0, psnr_y_db=30.0, ms_ssim_y=0.9, seconds_per_frame=0.1,
                     checks_per_frame=0.0, detector_calls_per_frame=0.0, stream="s.mp4",
                     recodes_per_frame=0.5)


def test_shares_of_segments() -> None:
    rows = [_row("uniform", 0, 1.0, 0.95), _row("uniform", 1, 1.0, 0.90), _row("uniform", 2, 1.0, 1.0),
            _row("xai", 0, 0.4, 0.99), _row("xai", 1, 0.6, 0.85), _row("xai", 2, 0.3, 1.0)]
    xai = next(entry for entry in method_summary(rows) if entry["method"] == "xai")
    assert xai["smaller_than_uniform30"] == 1.0
    assert xai["smaller_at_uniform30_detection"] == round(2 / 3, 4)  # segment 1 loses more than uniform
    assert xai["segments_detection_0.99"] == round(2 / 3, 4)
    assert xai["segments_half_size"] == round(2 / 3, 4)
    assert xai["recodes_per_frame"] == 0.5


def test_search_methods_are_compared_with_the_one_pass_baselines() -> None:
    pairs = bd_pairs(["uniform", "bbox", "fast", "xai", "learned"])
    assert ("xai", "bbox") in pairs and ("xai", "fast") in pairs and ("learned", "fast") in pairs
    assert ("bbox", "fast") not in pairs and ("fast", "bbox") not in pairs
    assert ("xai", "uniform") in pairs and ("bbox", "uniform") in pairs


def test_share_of_lost_targets_near_the_threshold() -> None:
    rows = [_row("xai", 0, 0.4, 0.9), _row("xai", 1, 0.5, 0.95), _row("fast", 0, 0.4, 1.0)]
    rows[0].lost_targets, rows[0].lost_near_threshold = 3, 1
    rows[1].lost_targets, rows[1].lost_near_threshold = 1, 1
    summary = {entry["method"]: entry for entry in method_summary(rows)}
    assert summary["xai"]["lost_near_threshold"] == 0.5
    assert summary["fast"]["lost_near_threshold"] is None


def test_every_method_is_compared_with_the_reference_codings() -> None:
    pairs = bd_pairs(["uniform", "fast", "xai", "crf", "half-res"])
    assert {("fast", "crf"), ("xai", "crf"), ("fast", "half-res"), ("xai", "half-res")} <= set(pairs)
    assert ("crf", "uniform") in pairs and ("half-res", "uniform") in pairs
    assert ("crf", "half-res") not in pairs and ("uniform", "crf") not in pairs
    assert ("crf", "fast") not in pairs and ("half-res", "fast") not in pairs


def test_the_report_opens_with_what_the_default_planner_saves_at_equal_f1() -> None:
    from vcm.eval.report import headline

    summary = {"bd_rate": [{"method": "fast", "reference": "uniform", "bd_rate_f1_percent": -52.4},
                           {"method": "fast", "reference": "crf", "bd_rate_f1_percent": 12.0},
                           {"method": "fast", "reference": "half-res", "bd_rate_f1_percent": None},
                           {"method": "xai", "reference": "uniform", "bd_rate_f1_percent": -70.0}],
               "methods": []}
    assert headline(summary) == ("At equal F1, fast needs 52 % fewer bits than uniform, 12 % more bits "
                                 "than crf (BD-rate over the rate ladders).")
    one_point = {"bd_rate": [], "methods": [
        {"method": "uniform", "median_size_ratio": 1.0, "mean_f1": 0.98},
        {"method": "fast", "median_size_ratio": 0.72, "mean_f1": None}]}
    assert headline(one_point) == ("fast codes the segments at a median 0.72x the bytes of uniform QP 30, "
                                   "at F1 - against 0.98; run with --ladder for BD-rates at equal F1.")


def test_smaller_segments_that_lose_f1_count_as_erased() -> None:
    uniform = [_row("uniform", s, 1.0, 1.0) for s in range(4)]
    fast = [_row("fast", 0, 0.5, 1.0), _row("fast", 1, 0.5, 1.0), _row("fast", 2, 1.2, 1.0),
            _row("fast", 3, 0.4, 1.0)]
    for row, f1 in zip(uniform, (0.9, 0.9, 0.9, 0.9), strict=True):
        row.f1 = f1
    # smaller and 0.1 lower: erased; smaller and 0.04 lower: kept; larger and lower: not counted;
    # a segment without F1 (no detection at all): not counted
    for row, f1 in zip(fast, (0.8, 0.86, 0.5, None), strict=True):
        row.f1 = f1
    summary = {entry["method"]: entry for entry in method_summary(uniform + fast)}
    assert summary["fast"]["segments_erased"] == 1 and summary["uniform"]["segments_erased"] == 0
    # an independent judge that sees what the planning detector kept was lost counts too
    for row, judged in zip(uniform + fast, (0.9, 0.9, 0.9, 0.9, 0.9, 0.3, 0.9, 0.9), strict=True):
        row.f1_by = {"yolov3-tiny": judged}
    summary = {entry["method"]: entry for entry in method_summary(uniform + fast)}
    assert summary["fast"]["segments_erased"] == 2


def test_bd_rate_median_over_segments() -> None:
    from dataclasses import replace

    from vcm.eval.summary import segment_bd_median

    rows = []
    # per segment: uniform at 100/200/400 kb/s; fast reaches the same F1 at 1/2, 1/4 and 1/2 the rate
    for segment, share in enumerate((0.5, 0.25, 0.5)):
        for rate, f1 in ((100.0, 0.5), (200.0, 0.8), (400.0, 0.9)):
            base = _row("uniform", segment, rate / 200, 1.0)
            rows.append(replace(base, bitrate_kbps=rate, f1=f1, f1_by={"judge": f1}))
            rows.append(replace(base, method="fast", bitrate_kbps=rate * share, f1=f1, f1_by={"judge": f1}))
    assert segment_bd_median(rows, "fast", "uniform", "f1") == -50.0  # median of -50, -75, -50
    assert segment_bd_median(rows, "fast", "uniform", "f1_judge") == -50.0
    assert segment_bd_median(rows, "fast", "uniform", "detection_rate") is None  # flat at 1.0


def test_headline_table_has_one_compact_row_per_method() -> None:
    from vcm.eval.report import headline_table

    summary = {"methods": [
        {"method": "uniform", "point": "qp30", "segments": 4, "median_size_ratio": 1.0, "mean_f1": 0.9,
         "mean_f1_yolov3-tiny": 0.8, "mean_detection_rate": 0.95, "min_detection_rate": 0.5,
         "segments_erased": 0},
        {"method": "fast", "point": "offset0", "segments": 4, "median_size_ratio": 0.4, "mean_f1": 0.88,
         "mean_f1_yolov3-tiny": None, "mean_detection_rate": 0.9, "min_detection_rate": 0.4,
         "segments_erased": 1}],
        "bd_rate": [{"method": "fast", "reference": "uniform", "bd_rate_f1_percent": -41.0,
                     "bd_rate_f1_median_percent": -38.5, "bd_rate_f1_yolov3-tiny_percent": -20.0,
                     "bd_rate_f1_yolov3-tiny_median_percent": None}]}
    uniform, fast = headline_table(summary)
    assert fast["method"] == "fast (offset0)" and fast["segments erased"] == "1 of 4"
    assert fast["BD F1 vs uniform (pooled / median)"] == "-41.0 / -38.5"
    assert fast["BD F1 by yolov3-tiny vs uniform (pooled / median)"] == "-20.0 / -"
    assert fast["F1 by yolov3-tiny"] == "-" and uniform["F1 by yolov3-tiny"] == "0.8"
    assert uniform["BD F1 vs uniform (pooled / median)"] == "-"  # no row compares uniform with itself


def test_uniform_one_step_up_is_summarised_beside_uniform_qp30() -> None:
    from dataclasses import replace

    from vcm.eval.report import headline_table
    from vcm.eval.summary import summarise

    rows = []
    for segment, lost in enumerate((0.0, 0.3, 0.0)):
        base = _row("uniform", segment, 1.0, 1.0)
        rows.append(replace(base, point="qp30", f1=0.9))
        rows.append(replace(base, point="qp34", main=False, size_ratio=0.6, f1=0.9 - lost))
        rows.append(replace(base, method="fast", point="offset0", size_ratio=0.7, f1=0.9))
    summary = summarise(rows)
    raised = summary["raised_uniform"]
    assert raised is not None and raised["point"] == "qp34" and raised["segments_erased"] == 1
    assert raised["median_size_ratio"] == 0.6
    assert [row["method"] for row in headline_table(summary)] == ["uniform (qp30)", "uniform (qp34)",
                                                                  "fast (offset0)"]
    assert summarise([row for row in rows if row.point != "qp34"])["raised_uniform"] is None
