"""Planner settings swept on the sample's validation segments (12-15), never on test: the
xai search's context and the learned planner's QP margin and detector cadence.

Usage: .venv/bin/python bench/sweep_validation.py [--xai-contexts 32,64] [--learned 0:2,3:2,6:2]
       [--out out/sweep]
Prints a markdown table: per setting, the median size ratio to uniform QP 30, the mean and
worst detection rate, and the segments at >= 0.99 (all targets, NanoDet, HEVC, GOP 32).
"""

import argparse
import statistics
from pathlib import Path

from vcm.eval.runner import EvalConfig, ResultRow, run_eval
from vcm.media import fetch_sample
from vcm.models import load_detector
from vcm.planners import XaiConfig
from vcm.planners.learned import LearnedConfig

FIRST_VALIDATION, VALIDATION_SEGMENTS = 12, 4


def _line(label: str, rows: list[ResultRow]) -> str:
    rates = [row.detection_rate for row in rows]
    return (f"| {label} | {statistics.median(row.size_ratio for row in rows):.3f} | "
            f"{statistics.mean(rates):.4f} / {min(rates):.4f} | "
            f"{sum(rate >= 0.99 for rate in rates)} of {len(rows)} | "
            f"{' '.join(f'{row.size_ratio:.2f}/{row.detection_rate:.3f}' for row in rows)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xai-contexts", default="32,64", help="xai context_px values")
    parser.add_argument("--learned", default="0:2,3:2,6:2,9:2,12:2,6:1,12:1",
                        help="learned planner MARGIN:DETECT_EVERY pairs")
    parser.add_argument("--out", type=Path, default=Path("out/sweep"), help="streams and reports")
    args = parser.parse_args()
    detector, video = load_detector(), fetch_sample()
    contexts = [int(px) for px in args.xai_contexts.split(",") if px]
    settings: list[tuple[str, str, object]] = [
        (f"xai, context {px} px", "xai", XaiConfig(context_px=px)) for px in contexts]
    for pair in filter(None, args.learned.split(",")):
        margin, every = (int(value) for value in pair.split(":"))
        settings.append((f"learned, margin {margin}, detector every {every}", "learned",
                         LearnedConfig(margin=margin, detect_every=every)))
    print("| setting | size / uniform QP 30 (median) | detection rate (mean / worst) | segments >= 0.99 "
          "| per segment (size/detection) |")
    print("|---|---|---|---|---|")
    for index, (label, planner, config) in enumerate(settings):
        evaluation = EvalConfig(methods=(planner,), first_segment=FIRST_VALIDATION,
                                max_segments=VALIDATION_SEGMENTS, planner_configs={planner: config})
        rows, _ = run_eval([video], evaluation, detector, args.out / f"setting{index}")
        print(_line(label, rows), flush=True)


if __name__ == "__main__":
    main()
