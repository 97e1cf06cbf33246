"""Which operating score (and framing) of the task detector agrees best with an independent
detector, on validation frames of several cameras (never test): per detector and score, F1 of
its people and vehicles against CenterNet's (or NanoDet's, for CenterNet) at score >= 0.5.

Usage: .venv/bin/python bench/bench_operating_score.py [--step 4]
Prints a markdown table, one row per (clip, detector), one column per operating score.
YOLOv3-tiny is left out: its boxes on these clips cover a smaller part of each person than the
other models' (IoU < 0.5 with the same person), so box agreement with it says nothing of the score.
"""

import argparse

import numpy as np

from vcm.eval.detection_f1 import f1_score
from vcm.media import fetch_sample, read_video
from vcm.media.clips import CLIP_SPLITS, clip_path
from vcm.media.samples import SAMPLE_SPLITS
from vcm.models import load_detector
from vcm.models.detector import Detection, detect_frames
from vcm.tasks.registry import CLASS_SETS

SCORES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
DETECTORS = ("nanodet", "nanodet@letterbox", "centernet@letterbox")
TRUTH_SCORE = 0.5
MAX_FRAMES = 300


def _wanted(frames: list[list[Detection]], min_score: float) -> list[list[Detection]]:
    classes = CLASS_SETS["surveillance"]
    return [[d for d in frame if d.class_name in classes and d.score >= min_score] for frame in frames]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=4, help="every n-th frame")
    args = parser.parse_args()
    start, stop = SAMPLE_SPLITS["validation"]
    clips = {"sample (validation)": read_video(fetch_sample(), start=start, max_frames=stop - start).frames}
    for name in CLIP_SPLITS["validation"]:
        clips[name] = read_video(clip_path(name), max_frames=MAX_FRAMES).frames
    print("| clip | detector | judge | " + " | ".join(f"F1 at {score}" for score in SCORES) + " |")
    print("|---|---|---|" + "---|" * len(SCORES))
    best: dict[str, list[float]] = {}
    for clip, frames in clips.items():
        frames = frames[:: args.step]
        found = {name: detect_frames(load_detector(name), frames)
                 for name in dict.fromkeys((*DETECTORS, "centernet", "nanodet"))}
        for name in DETECTORS:
            judge = "nanodet" if name.startswith("centernet") else "centernet"
            truth = _wanted(found[judge], TRUTH_SCORE)
            values = [f1_score(truth, _wanted(found[name], score), min_score=0.0) for score in SCORES]
            best.setdefault(name, []).append(SCORES[int(np.argmax([v or 0.0 for v in values]))])
            cells = " | ".join("-" if v is None else f"{v:.2f}" for v in values)
            print(f"| {clip} | {name} | {judge} | {cells} |", flush=True)
    print()
    print("| detector | best operating score per clip |")
    print("|---|---|")
    for name, scores in best.items():
        print(f"| {name} | {', '.join(f'{score:g}' for score in scores)} |")


if __name__ == "__main__":
    main()
