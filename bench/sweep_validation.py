"""Planner settings swept on validation clips of several cameras, never on test: segments
12-15 of the sample and the first segments of the validation clips (vcm.media.clips), with
every encode also judged by a detector the planner did not use.

Usage: .venv/bin/python bench/sweep_validation.py [--fast "floor=0.3,change_level=8" ...]
       [--learned 0:2,6:2] [--xai-contexts 32,64] [--segments 3] [--detector nanodet@letterbox]
       [--min-score 0.6] [--ladder] [--out out/sweep]
Prints a markdown table: per setting, the median size ratio to uniform QP 30, the mean F1
(planning detector and judge), the mean and worst detection rate, the segments erased
(smaller than uniform QP 30 at an F1 more than 0.05 below its, by either detector), with
--ladder the BD-rates against the uniform QP ladder on F1 and on F1 by the judge (pooled /
median over segments), and each segment's size ratio and F1 by the judge.
"""

import argparse
import dataclasses
import statistics
from collections.abc import Sequence
from pathlib import Path

from vcm.eval.runner import EvalConfig, ResultRow, run_eval
from vcm.eval.summary import method_summary, summarise
from vcm.media import fetch_sample
from vcm.media.clips import CLIP_SPLITS, clip_path
from vcm.models import load_detector
from vcm.models.detectors import DEFAULT_DETECTOR
from vcm.planners import FastConfig, XaiConfig
from vcm.planners.learned import LearnedConfig
from vcm.tasks.registry import CLASS_SETS, DEFAULT_CLASSES
from vcm.tasks.targets import TargetSpec

FIRST_VALIDATION, VALIDATION_SEGMENTS = 12, 4  # the sample's validation frames 396-527
JUDGE = "yolov3-tiny"


def _mean(values: Sequence[float | None]) -> str:
    known = [value for value in values if value is not None]
    return f"{statistics.mean(known):.3f}" if known else "-"


def _bd(rows: Sequence[ResultRow], uniform: Sequence[ResultRow]) -> str:
    """' BD F1 (pooled / median) | BD by the judge |' of the rows' method against uniform."""
    if rows[0].method == "uniform":
        return " - | - |"
    entry = next(entry for entry in summarise([*uniform, *rows])["bd_rate"]
                 if entry["method"] == rows[0].method and entry["reference"] == "uniform")

    def pair(metric: str) -> str:
        return " / ".join("-" if entry.get(key) is None else f"{entry[key]:+.1f} %"
                          for key in (f"bd_rate_{metric}_percent", f"bd_rate_{metric}_median_percent"))

    return f" {pair('f1')} | {pair('f1_' + JUDGE)} |"


def _line(label: str, rows: Sequence[ResultRow], uniform: Sequence[ResultRow], ladder: bool) -> str:
    main = [row for row in rows if row.main]
    rates = [row.detection_rate for row in main]
    summary = {entry["method"]: entry for entry in method_summary([*uniform, *rows])}
    erased = summary[main[0].method]["segments_erased"] or 0
    return (f"| {label} | {statistics.median(row.size_ratio for row in main):.3f} | "
            f"{_mean([row.f1 for row in main])} | {_mean([row.f1_by.get(JUDGE) for row in main])} | "
            f"{statistics.mean(rates):.3f} / {min(rates):.3f} | {erased} of {len(main)} |"
            + (_bd(rows, uniform) if ladder else "") + " "
            + " ".join(f"{row.size_ratio:.2f}/{_mean([row.f1_by.get(JUDGE)])}" for row in main) + " |")


def _fast_config(text: str) -> FastConfig:
    """'floor=0.3,change_level=8' -> a FastConfig with those fields replaced ('none' -> None)."""
    fields = {field.name: field.type for field in dataclasses.fields(FastConfig)}
    changes: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        if key not in fields:
            raise SystemExit(f"FastConfig has no field {key!r}")
        declared = str(fields[key])
        kind = str if declared in ("str", "<class 'str'>") else float if "float" in declared else int
        changes[key] = None if value == "none" else kind(value)
    return dataclasses.replace(FastConfig(), **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", nargs="*", default=[], help="fast planner settings, FIELD=VALUE,...")
    parser.add_argument("--xai-contexts", default="", help="xai context_px values")
    parser.add_argument("--learned", default="", help="learned planner MARGIN:DETECT_EVERY pairs")
    parser.add_argument("--segments", type=int, default=3, help="segments of each validation clip")
    parser.add_argument("--classes", default=DEFAULT_CLASSES, help="a named class set (vcm.tasks.CLASS_SETS)")
    parser.add_argument("--min-score", type=float, default=None, help="operating score (default: the task's)")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, help="the planning detector")
    parser.add_argument("--ladder", action="store_true", help="run each rate ladder and report BD-rates")
    parser.add_argument("--out", type=Path, default=Path("out/sweep"), help="streams and reports")
    args = parser.parse_args()
    settings: list[tuple[str, str, object]] = [(f"fast, {text or 'defaults'}", "fast", _fast_config(text))
                                               for text in args.fast]
    settings += [(f"xai, context {px} px", "xai", XaiConfig(context_px=int(px)))
                 for px in filter(None, args.xai_contexts.split(","))]
    for pair in filter(None, args.learned.split(",")):
        margin, every = (int(value) for value in pair.split(":"))
        settings.append((f"learned, margin {margin}, detector every {every}", "learned",
                         LearnedConfig(margin=margin, detect_every=every)))
    targets = TargetSpec(classes=CLASS_SETS[args.classes])
    if args.min_score is not None:
        targets = dataclasses.replace(targets, min_score=args.min_score)
    videos = [(fetch_sample(), FIRST_VALIDATION, VALIDATION_SEGMENTS)]
    videos += [(clip_path(name), 0, args.segments) for name in CLIP_SPLITS["validation"]]
    detector = load_detector(args.detector)
    uniform: list[ResultRow] = []
    bd_columns = f" BD F1 vs uniform (pooled / median) | BD F1 by {JUDGE} |" if args.ladder else ""
    print(f"| setting | size / uniform QP 30 (median) | F1 | F1 by {JUDGE} | detection rate (mean / worst) "
          f"| segments erased |{bd_columns} per segment: size / F1 by {JUDGE} |")
    print("|---|---|---|---|---|---|" + ("---|---|" if args.ladder else "") + "---|")
    for index, (label, planner, config) in enumerate([("uniform QP 30", "uniform", None), *settings]):
        rows: list[ResultRow] = []
        for number, (video, first, count) in enumerate(videos):
            evaluation = EvalConfig(methods=(planner,), first_segment=first, max_segments=count,
                                    ladder=args.ladder, targets=targets, detector=args.detector,
                                    measured_by=(JUDGE,),
                                    planner_configs={planner: config} if config is not None else {})
            rows += run_eval([video], evaluation, detector, args.out / f"setting{index}-{number}")[0]
        if planner == "uniform":
            uniform = rows
        print(_line(label, rows, uniform, args.ladder), flush=True)


if __name__ == "__main__":
    main()
