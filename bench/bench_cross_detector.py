"""Plan with one detector, judge with the others: the default planner on the test split
(sample segments 16-19 and the first segments of each test clip), planned by each of NanoDet,
CenterNet and YOLOv3-tiny in turn, every encode judged by all three.

Usage: .venv/bin/python bench/bench_cross_detector.py [--segments 3] [--out out/cross]
Prints a markdown matrix: one row per planning detector, per judge the mean F1 of `fast` at
its main point against uniform QP 30's (segments where the judge finds something on the
original), then the median size against uniform QP 30 and the segments erased (smaller than
uniform QP 30 at an F1 more than 0.05 below its, by any of the three).
"""

import argparse
import statistics
from pathlib import Path

from vcm.eval.runner import EvalConfig, ResultRow, run_eval
from vcm.eval.summary import method_summary
from vcm.media import fetch_sample
from vcm.media.clips import CLIP_SPLITS, clip_path
from vcm.media.samples import SAMPLE_SPLITS
from vcm.models import load_detector
from vcm.tasks.registry import CLASS_SETS, DEFAULT_CLASSES
from vcm.tasks.targets import TargetSpec

DETECTORS = ("nanodet", "centernet", "yolov3-tiny")
SEGMENT = 33


def _f1(row: ResultRow, judge: str, planner: str) -> float | None:
    return row.f1 if judge == planner else row.f1_by.get(judge)


def _cell(rows: list[ResultRow], judge: str, planner: str) -> str:
    """'fast / uniform' mean F1 by `judge` over the segments where it is defined for both."""
    pairs = []
    for row in (r for r in rows if r.method == "fast" and r.main):
        base = next(r for r in rows if r.method == "uniform" and r.main
                    and (r.video, r.segment) == (row.video, row.segment))
        mine, theirs = _f1(row, judge, planner), _f1(base, judge, planner)
        if mine is not None and theirs is not None:
            pairs.append((mine, theirs))
    if not pairs:
        return "-"
    return (f"{statistics.mean(p[0] for p in pairs):.3f} / {statistics.mean(p[1] for p in pairs):.3f}"
            f" ({len(pairs)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=3, help="segments of each test clip")
    parser.add_argument("--out", type=Path, default=Path("out/cross"), help="streams and reports")
    args = parser.parse_args()
    first = SAMPLE_SPLITS["test"][0]
    videos = [(fetch_sample(), first // SEGMENT, 4)]
    videos += [(clip_path(name), 0, args.segments) for name in CLIP_SPLITS["test"]]
    targets = TargetSpec(classes=CLASS_SETS[DEFAULT_CLASSES])
    print("| planned by | " + " | ".join(f"F1 by {judge}: fast / uniform (segments)" for judge in DETECTORS)
          + " | size vs QP 30 (median) | segments erased |")
    print("|---|" + "---|" * (len(DETECTORS) + 2))
    for planner in DETECTORS:
        judges = tuple(name for name in DETECTORS if name != planner)
        detector = load_detector(planner)
        rows: list[ResultRow] = []
        for number, (video, start, count) in enumerate(videos):
            evaluation = EvalConfig(methods=("uniform", "fast"), first_segment=start, max_segments=count,
                                    targets=targets, detector=planner, measured_by=judges)
            rows += run_eval([video], evaluation, detector, args.out / f"{planner}-{number}")[0]
        fast = [row for row in rows if row.method == "fast" and row.main]
        erased = next(entry for entry in method_summary(rows) if entry["method"] == "fast")["segments_erased"]
        cells = " | ".join(_cell(rows, judge, planner) for judge in DETECTORS)
        print(f"| {planner} | {cells} | {statistics.median(row.size_ratio for row in fast):.3f} | "
              f"{erased} of {len(fast)} |", flush=True)


if __name__ == "__main__":
    main()
