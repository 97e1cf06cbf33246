"""Planner benchmark: end-to-end frames/s of the fast planner (detector + map + encode) against
a plain uniform encode of the same frames, and the XAI search's cost per frame.

Usage: .venv/bin/python bench/bench_planners.py [--frames 66] [--xai-frames 4] [--repeats 3]
Prints a markdown table; speeds are medians over the repeats, measured in one run.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from vcm.codec import encode
from vcm.media import fetch_sample, read_video
from vcm.models import load_detector
from vcm.planners import PlanSettings, plan_clip
from vcm.targets import TargetSpec, select_targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=66)
    parser.add_argument("--xai-frames", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    video = read_video(fetch_sample(), max_frames=args.frames)
    detector = load_detector("yolov3-tiny")  # the detector its recorded figures were measured with
    detector.detect(video.frames[:2])
    settings = PlanSettings()
    fast_rates, uniform_rates = [], []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.repeats):
            start = time.perf_counter()
            plan = plan_clip("fast", video.frames, detector, settings)
            encode([p.rgb for p in plan], [p.qp_map for p in plan], Path(work) / "fast.mp4", fps=video.fps)
            fast_rates.append(len(video) / (time.perf_counter() - start))
            start = time.perf_counter()
            encode(video.frames, 30, Path(work) / "uniform.mp4", fps=video.fps)
            uniform_rates.append(len(video) / (time.perf_counter() - start))
    frames = video.frames[: args.xai_frames]
    targets = select_targets(detector.detect(frames), TargetSpec())
    start = time.perf_counter()
    xai = plan_clip("xai", frames, detector, settings, targets)
    xai_seconds = (time.perf_counter() - start) / len(frames)
    fast, uniform = statistics.median(fast_rates), statistics.median(uniform_rates)
    print(f"# vcm planner benchmark: {video.width}x{video.height}, {os.cpu_count()} cores, "
          f"{platform.machine()}, HEVC, median of {args.repeats}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| fast planner + encode, {len(video)} frames | {fast:.1f} frames/s |")
    print(f"| uniform QP 30 encode, same frames | {uniform:.1f} frames/s |")
    print(f"| fast / uniform throughput | {fast / uniform:.2f} |")
    print(f"| xai search, first {len(frames)} frames | {xai_seconds:.1f} s/frame |")
    print(f"| xai codec checks per frame | {statistics.mean(p.checks for p in xai):.1f} |")
    print(f"| xai detector calls per frame | {statistics.mean(p.detector_calls for p in xai):.1f} |")


if __name__ == "__main__":
    main()
