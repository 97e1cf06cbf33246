"""Planner benchmark: end-to-end frames/s of the real-time planners (fast, learned: detector +
map + HEVC encode) against a plain uniform encode of the same frames, of `vcm encode`'s default
path (fast, verified on every 2nd frame: decoded, detected again on original and decoded),
and the XAI search's cost per frame at 640x480 (codec checks, detector calls, re-codes of the
final stream).

Usage: .venv/bin/python bench/bench_planners.py [--frames 66] [--xai-frames 33] [--repeats 3]
       [--detector nanodet]
Prints a markdown table; speeds are medians over the repeats, measured in one run.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vcm.codec import encode
from vcm.media import fetch_sample, read_video
from vcm.models import load_detector
from vcm.models.detector import detect_frames
from vcm.pipeline.options import VERIFY_EVERY, Verification
from vcm.pipeline.run import run_method
from vcm.planners import PlanSettings, plan_clip
from vcm.tasks.targets import TargetSpec, select_targets

XAI_SIZE = (640, 480)
XAI_START = 12 * 33  # the first validation segment of the sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=66)
    parser.add_argument("--xai-frames", type=int, default=33)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--detector", default="nanodet")
    args = parser.parse_args()
    video = read_video(fetch_sample(), max_frames=args.frames)
    detector = load_detector(args.detector)
    detector.detect(video.frames[:2])
    settings = PlanSettings()
    rates: dict[str, list[float]] = {"fast": [], "learned": [], "uniform": [], "verified": []}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.repeats):
            for name in ("fast", "learned"):
                start = time.perf_counter()
                plan = plan_clip(name, video.frames, detector, settings)
                encode([p.rgb for p in plan], [p.qp_map for p in plan], Path(work) / f"{name}.mp4",
                       fps=video.fps)
                rates[name].append(len(video) / (time.perf_counter() - start))
            start = time.perf_counter()
            encode(video.frames, 30, Path(work) / "uniform.mp4", fps=video.fps)
            rates["uniform"].append(len(video) / (time.perf_counter() - start))
            start = time.perf_counter()
            run_method("fast", video.frames, video.fps, Path(work) / "verified.mp4", detector, settings,
                       verify=Verification(every=VERIFY_EVERY))
            rates["verified"].append(len(video) / (time.perf_counter() - start))
    small = np.stack([cv2.resize(frame, XAI_SIZE, interpolation=cv2.INTER_AREA) for frame in
                      read_video(fetch_sample(), start=XAI_START, max_frames=args.xai_frames).frames])
    targets = select_targets(detect_frames(detector, small), TargetSpec())
    xai_runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        xai = plan_clip("xai", small, detector, settings, targets)
        xai_runs.append((time.perf_counter() - start) / len(small))
    xai_seconds = statistics.median(xai_runs)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"# vcm planner benchmark: {video.width}x{video.height}, {os.cpu_count()} cores, "
          f"{platform.machine()}, HEVC, detector {args.detector}, median of {args.repeats}")
    print("| measure | value |")
    print("|---|---|")
    for name in ("fast", "learned"):
        print(f"| {name} planner + encode, {len(video)} frames | {median[name]:.1f} frames/s |")
    print(f"| fast + encode + verification (every {VERIFY_EVERY}nd frame), as `vcm encode` | "
          f"{median['verified']:.1f} frames/s |")
    print(f"| uniform QP 30 encode, same frames | {median['uniform']:.1f} frames/s |")
    width, height = XAI_SIZE
    print(f"| xai search, {len(small)} frames at {width}x{height} (frames {XAI_START}-"
          f"{XAI_START + len(small) - 1}), median of {args.repeats} | {xai_seconds:.2f} s/frame |")
    print(f"| xai codec checks per frame | {np.mean([p.checks for p in xai]):.1f} |")
    print(f"| xai detector calls per frame | {np.mean([p.detector_calls for p in xai]):.1f} |")
    print(f"| xai re-codes of the final stream per frame | {np.mean([p.recodes for p in xai]):.2f} |")


if __name__ == "__main__":
    main()
