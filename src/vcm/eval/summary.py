"""Aggregate result rows: per-method summary, rate-accuracy curves and BD-rates."""

from collections.abc import Sequence
from statistics import mean, median
from typing import TypedDict

import numpy as np

from vcm.eval.bdrate import bd_rate
from vcm.eval.references import REFERENCES
from vcm.eval.runner import ResultRow
from vcm.rounding import rounded


def _finite_mean(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return rounded(mean(finite), "share") if finite else None


def _share_smaller_at_equal_detection(main: Sequence[ResultRow], rows: Sequence[ResultRow]) -> float | None:
    """Share of segments where the method is smaller than uniform's main point (QP 30) at a
    detection rate at least uniform's on that segment; None without uniform rows."""
    uniform = {(r.video, r.segment): r.detection_rate for r in rows if r.method == "uniform" and r.main}
    compared = [r for r in main if (r.video, r.segment) in uniform]
    if not compared:
        return None
    return rounded(mean(r.size_ratio < 1 and r.detection_rate >= uniform[(r.video, r.segment)]
                        for r in compared), "share")


ERASED_F1_MARGIN = 0.05  # F1 this far below uniform QP 30's on a smaller encode: objects erased


def _f1s(row: ResultRow) -> dict[str, float | None]:
    """The row's F1 by the planning detector (key ""), then by each judge."""
    return {"": row.f1, **row.f1_by}


def _segments_erased(main: Sequence[ResultRow], rows: Sequence[ResultRow]) -> int | None:
    """Segments where the method is smaller than uniform QP 30 but its F1, by the planning
    detector or by any judge, is more than ERASED_F1_MARGIN below uniform QP 30's by the same
    detector (the bits were saved by losing what the task needs); None without uniform rows
    or F1."""
    uniform = {(r.video, r.segment): r for r in rows if r.method == "uniform" and r.main}
    compared = [(r, uniform[(r.video, r.segment)]) for r in main if (r.video, r.segment) in uniform]
    if not compared or all(value is None for r, _ in compared for value in _f1s(r).values()):
        return None
    return sum(1 for r, reference in compared if r.size_ratio < 1 and any(
        ours is not None and theirs is not None and ours < theirs - ERASED_F1_MARGIN
        for ours, theirs in ((value, _f1s(reference).get(name)) for name, value in _f1s(r).items())))


def _share_near_threshold(main: Sequence[ResultRow]) -> float | None:
    """Share of the lost targets that were fragile (see ResultRow); None when none was lost."""
    lost = sum(r.lost_targets for r in main)
    return rounded(sum(r.lost_near_threshold for r in main) / lost, "share") if lost else None


def judges(rows: Sequence[ResultRow]) -> list[str]:
    """The other detectors that judged the rows (ResultRow.f1_by), in the order first seen."""
    return list(dict.fromkeys(name for row in rows for name in row.f1_by))


def method_summary(rows: Sequence[ResultRow]) -> list[dict[str, object]]:
    """Per method, over its main-point rows: the figures the README reports (point_summary)."""
    return [point_summary(rows, method, next(r.point for r in rows if r.method == method and r.main))
            for method in dict.fromkeys(row.method for row in rows if row.main)]


RAISED_UNIFORM_POINT = "qp34"  # uniform one ladder step above QP 30: what a user tries first to save bits


def raised_uniform_summary(rows: Sequence[ResultRow]) -> dict[str, object] | None:
    """point_summary of uniform at RAISED_UNIFORM_POINT, the same measures as each method's
    (segments erased included, against uniform QP 30); None without that ladder point."""
    if not any(r.method == "uniform" and r.point == RAISED_UNIFORM_POINT for r in rows):
        return None
    return point_summary(rows, "uniform", RAISED_UNIFORM_POINT)


def point_summary(rows: Sequence[ResultRow], method: str, point: str) -> dict[str, object]:
    """The figures of `method` at ladder `point` over its segments. Shares are of segments:
    smaller than uniform QP 30, smaller at a detection rate at least uniform QP 30's,
    detection rate >= 0.99, size <= 0.5x uniform QP 30; lost_near_threshold: share of the
    lost targets that were fragile; segments_erased: segments smaller than uniform QP 30 at an
    F1 (by any detector measuring) more than ERASED_F1_MARGIN below its."""
    main = [row for row in rows if row.method == method and row.point == point]
    return {
        "method": method,
        "point": point,
        "segments": len(main),
        "median_size_ratio": rounded(median(r.size_ratio for r in main), "share"),
        "smaller_than_uniform30": rounded(mean(r.size_ratio < 1 for r in main), "share"),
        "smaller_at_uniform30_detection": _share_smaller_at_equal_detection(main, rows),
        "segments_detection_0.99": rounded(mean(r.detection_rate >= 0.99 for r in main), "share"),
        "segments_half_size": rounded(mean(r.size_ratio <= 0.5 for r in main), "share"),
        "mean_detection_rate": rounded(mean(r.detection_rate for r in main), "share"),
        "min_detection_rate": rounded(min(r.detection_rate for r in main), "share"),
        "mean_map50": _finite_mean([r.map50 for r in main]),
        "mean_f1": _finite_mean([r.f1 for r in main]),
        "segments_erased": _segments_erased(main, rows),
        "mean_psnr_y_db": rounded(mean(r.psnr_y_db for r in main), "db"),
        "mean_ms_ssim_y": rounded(mean(r.ms_ssim_y for r in main), "ssim"),
        "mean_vmaf": _finite_mean([r.vmaf for r in main]),
        "mean_vmaf_neg": _finite_mean([r.vmaf_neg for r in main]),
        "mean_bitrate_kbps": rounded(mean(r.bitrate_kbps for r in main), "kbps"),
        "seconds_per_frame": rounded(median(r.seconds_per_frame for r in main), "seconds"),
        "frames_per_second": rounded(1 / max(median(r.seconds_per_frame for r in main), 1e-9), "per_frame"),
        "checks_per_frame": rounded(mean(r.checks_per_frame for r in main), "per_frame"),
        "detector_calls_per_frame": rounded(mean(r.detector_calls_per_frame for r in main), "per_frame"),
        "recodes_per_frame": rounded(mean(r.recodes_per_frame for r in main), "per_frame"),
        "lost_near_threshold": _share_near_threshold(main),
        "mean_leak_rate": _finite_mean([r.leak_rate for r in main]),
        "mean_concealer_leak_rate": _finite_mean([r.concealer_leak_rate for r in main]),
        "mean_person_detection_rate": _finite_mean([r.person_detection_rate for r in main]),
        "mean_pose_accuracy": _finite_mean([r.pose_accuracy for r in main]),
        **{f"mean_f1_{name}": _finite_mean([r.f1_by.get(name) for r in main]) for name in judges(rows)},
    }


def measures_pose(rows: Sequence[ResultRow]) -> bool:
    """Whether the rows carry pose accuracies."""
    return any(row.pose_accuracy is not None for row in rows)


def measures_privacy(rows: Sequence[ResultRow]) -> bool:
    """Whether the rows carry face-identity leak rates."""
    return any(row.faces_recognisable is not None for row in rows)


def curves(rows: Sequence[ResultRow]) -> dict[str, list[dict[str, float]]]:
    """Per method, one point per ladder label: mean bitrate, mAP, F1, detection rate, PSNR,
    MS-SSIM, VMAF, VMAF-NEG, leak rate, person detection rate and pose accuracy over segments
    (NaN where not measured)."""
    result: dict[str, list[dict[str, float]]] = {}
    for method in dict.fromkeys(row.method for row in rows):
        points = []
        for label in dict.fromkeys(row.point for row in rows if row.method == method):
            chosen = [row for row in rows if row.method == method and row.point == label]
            points.append({"point": label, "bitrate_kbps": mean(r.bitrate_kbps for r in chosen),
                           "map50": _nan_if_none(_finite_mean([r.map50 for r in chosen])),
                           "f1": _nan_if_none(_finite_mean([r.f1 for r in chosen])),
                           "detection_rate": mean(r.detection_rate for r in chosen),
                           "psnr_y_db": mean(r.psnr_y_db for r in chosen),
                           "ms_ssim_y": mean(r.ms_ssim_y for r in chosen),
                           "vmaf": _nan_if_none(_finite_mean([r.vmaf for r in chosen])),
                           "vmaf_neg": _nan_if_none(_finite_mean([r.vmaf_neg for r in chosen])),
                           "leak_rate": _nan_if_none(_finite_mean([r.leak_rate for r in chosen])),
                           "person_detection_rate": _nan_if_none(
                               _finite_mean([r.person_detection_rate for r in chosen])),
                           "pose_accuracy": _nan_if_none(_finite_mean([r.pose_accuracy for r in chosen])),
                           **{f"f1_{name}": _nan_if_none(_finite_mean([r.f1_by.get(name) for r in chosen]))
                              for name in judges(rows)}})
        result[method] = sorted(points, key=lambda p: p["bitrate_kbps"])
    return result


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value


BD_METRICS = ("f1", "map50", "detection_rate", "psnr_y_db", "ms_ssim_y", "vmaf", "vmaf_neg")


BASELINES = ("bbox", "fast")  # the one-pass methods a search has to beat


def bd_pairs(methods: Sequence[str], reference: str = "uniform") -> list[tuple[str, str]]:
    """(method, reference) pairs to compare: every method against uniform QP, every vcm method
    against each reference coding present (crf, half-res), every search method against the
    one-pass baselines (bbox, fast), and every METHOD+preedit against the same METHOD without
    pre-editing."""
    pairs = [(method, reference) for method in methods if method != reference and reference in methods]
    references = [name for name in methods if name in REFERENCES]
    pairs += [(method, name) for name in references for method in methods
              if method not in (reference, *references)]
    pairs += [(method, baseline) for method in methods for baseline in BASELINES
              if baseline in methods and method not in (reference, *BASELINES, *references)]
    for method in methods:
        plain = method.replace("+preedit", "")
        if plain != method and plain in methods and plain != reference:
            pairs.append((method, plain))
    return pairs


SEGMENT_BD_METRICS = ("f1", "detection_rate")  # also BD-rated per segment (median over segments)


def _accuracy(row: ResultRow, metric: str) -> float:
    """A row's value of an accuracy metric: a ResultRow field or f1_NAME (F1 by judge NAME)."""
    value = row.f1_by.get(metric.removeprefix("f1_")) if metric.startswith("f1_") else getattr(row, metric)
    return _nan_if_none(value)


def segment_bd_median(rows: Sequence[ResultRow], method: str, against: str, metric: str) -> float | None:
    """Median over segments of the BD-rate (%) of `method` vs `against` on `metric`, each
    segment's curves from its own ladder points; None when no segment gives one."""
    values = []
    for key in dict.fromkeys((row.video, row.segment) for row in rows):
        mine = [row for row in rows if (row.video, row.segment) == key and row.method == method]
        base = [row for row in rows if (row.video, row.segment) == key and row.method == against]
        value = bd_rate([r.bitrate_kbps for r in base], [_accuracy(r, metric) for r in base],
                        [r.bitrate_kbps for r in mine], [_accuracy(r, metric) for r in mine])
        if value is not None:
            values.append(value)
    return rounded(median(values), "percent") if values else None


def bd_rates(curve_points: dict[str, list[dict[str, float]]], reference: str = "uniform",
             rows: Sequence[ResultRow] = ()) -> list[dict[str, object]]:
    """BD-rate (%) of each method vs its reference (bd_pairs) on every BD_METRICS metric and on
    F1 by each other detector that judged them (f1_NAME), over the curves pooled across
    segments; given the rows, also the median over segments (bd_rate_METRIC_median_percent)
    on F1, detection rate and each judge's F1. None where the curves do not overlap."""
    table = []
    for method, against in bd_pairs(list(curve_points), reference):
        base, points = curve_points[against], curve_points[method]
        entry: dict[str, object] = {"method": method, "reference": against}
        cross = [key for key in base[0] if key.startswith("f1_")]
        for metric in (*BD_METRICS, *cross):
            value = bd_rate([p["bitrate_kbps"] for p in base], [p[metric] for p in base],
                            [p["bitrate_kbps"] for p in points], [p[metric] for p in points])
            entry[f"bd_rate_{metric}_percent"] = rounded(value, "percent")
        if rows:
            for metric in (*SEGMENT_BD_METRICS, *cross):
                entry[f"bd_rate_{metric}_median_percent"] = segment_bd_median(rows, method, against, metric)
        table.append(entry)
    return table


class Summary(TypedDict):
    """What summary.json holds besides the config."""

    methods: list[dict[str, object]]
    raised_uniform: dict[str, object] | None
    bd_rate: list[dict[str, object]]
    curves: dict[str, list[dict[str, float]]]


def summarise(rows: Sequence[ResultRow]) -> Summary:
    """Per-method summary, BD-rates and rate-accuracy curves of a set of result rows."""
    curve_points = curves(rows)
    return {"methods": method_summary(rows), "raised_uniform": raised_uniform_summary(rows),
            "bd_rate": bd_rates(curve_points, rows=rows), "curves": curve_points}
