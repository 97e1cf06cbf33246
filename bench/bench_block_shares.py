"""How much of the picture the fast planner keeps at or near the reference quality: per clip,
the share of 16x16 blocks whose QP is <= 30, <= 34 and <= 40, and = 51, in P-frames (open
loop, default settings, NanoDet), over one 33-frame segment each. A fail-safe planner can
save bits only on the remaining blocks.

    python bench/bench_block_shares.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vcm.codec.qpmap import grid_shape
from vcm.media import fetch_sample, read_video
from vcm.media.clips import clip_path
from vcm.models.detectors import load_detector
from vcm.planners.base import PlanSettings
from vcm.planners.registry import plan_clip

SEGMENT = 33
CASES = [("sample (test)", None, 528), ("street-1906 (test)", "street-1906", 66),
         ("carphone (test)", "carphone", 0), ("face-studio (test)", "face-studio", 0)]


def main() -> None:
    detector = load_detector()
    print("| clip | first frame | P-frame blocks <= QP 30 | <= 34 | <= 40 | at 51 |")
    print("|---|---|---|---|---|---|")
    for label, clip, first in CASES:
        path = fetch_sample() if clip is None else clip_path(clip)
        frames = read_video(path, max_frames=first + SEGMENT).frames[first:]
        plans = plan_clip("fast", frames, detector, PlanSettings())
        rows, cols = grid_shape(frames.shape[2], frames.shape[1])
        qp = np.stack([p.qp_map.dense(rows, cols) for p in plans])[1:]  # the P-frames
        print(f"| {label} | {first} | {(qp <= 30).mean():.2f} | {(qp <= 34).mean():.2f} | "
              f"{(qp <= 40).mean():.2f} | {(qp == 51).mean():.2f} |", flush=True)


if __name__ == "__main__":
    main()
