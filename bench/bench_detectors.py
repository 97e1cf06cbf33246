"""Detector benchmark: (1) speed of every object-detector backend against YOLOv3-tiny, with
MoveNet pose and the face detectors beside them; (2) hit rates (frames with a detection, and
with a person, scoring >= 0.7) on the sample clip and every face clip; (3) parity of the
TF.js conversions (nanodet, centernet) with TensorFlow.js run in Node.

Usage: .venv/bin/python bench/bench_detectors.py [--frames 8] [--repeats 5] [--skip-parity]
Prints markdown tables; times are medians over the repeats, measured in one run (the models
take turns within each repeat, so load on a shared machine hits them alike). Progress goes
to stderr. Parity needs Node and npm (4 runs of about 10 s each).
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from vcm.media import fetch_sample, read_video
from vcm.media.face_clips import face_clip_files
from vcm.models import load_detector
from vcm.models.detector import BoxDetector, Detection, box_iou
from vcm.models.detectors import DETECTORS
from vcm.models.face_detectors import load_face_detector

BASELINE = "yolov3-tiny"
HIT_SCORE = 0.7
SAMPLE_WINDOWS = (0, 300, 600)  # first frame of each window of the sample clip
WINDOW_FRAMES = 20
FACE_CLIP_FRAMES = 24
PARITY_FACE_CLIP = "obama3"  # a standing person (see tests/conftest.py)
PARITY_DETECTORS = ("nanodet", "centernet")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def speed(frames: np.ndarray, repeats: int) -> None:
    """ms/frame of every model over the same frames; the models take turns in each repeat."""
    runners: dict[str, Callable[[np.ndarray], object]] = {}
    for name in DETECTORS:
        runners[name] = load_detector(name).detect
    from vcm.models.movenet import MoveNet

    runners["movenet-lightning (pose)"] = MoveNet().estimate
    for name in ("mtcnn", "blazeface"):
        face_detector = load_face_detector(name)
        runners[f"{name} (faces)"] = lambda clip, found=face_detector: [found.detect_faces(f) for f in clip]
    for name, run in runners.items():
        progress(f"speed: warm-up {name}")
        run(frames[:2])
    times: dict[str, list[float]] = {name: [] for name in runners}
    for repeat in range(repeats):
        progress(f"speed: repeat {repeat + 1}/{repeats}")
        for name, run in runners.items():
            start = time.perf_counter()
            run(frames)
            times[name].append((time.perf_counter() - start) / len(frames) * 1000)
    baseline = statistics.median(times[BASELINE])
    height, width = frames.shape[1:3]
    print(f"\n## Speed: {len(frames)} frames of {width}x{height} (sample clip), median of {repeats}")
    print("| model | ms/frame | min-max | ratio to yolov3-tiny |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {min(values):.1f}-{max(values):.1f} | {median / baseline:.2f} |")


def hit_clips() -> list[tuple[str, np.ndarray]]:
    """(label, frames) of every clip: windows of the sample clip, then each face clip."""
    sample = fetch_sample()
    clips = [(f"sample frames {start}-{start + WINDOW_FRAMES - 1}",
              read_video(sample, start=start, max_frames=WINDOW_FRAMES).frames) for start in SAMPLE_WINDOWS]
    for path in face_clip_files(FACE_CLIP_FRAMES):
        clips.append((f"face clip {path.stem}", read_video(path, max_frames=FACE_CLIP_FRAMES).frames))
    return clips


def hits(found: Sequence[Sequence[Detection]]) -> tuple[int, int]:
    """Frames with any detection, and with a person, scoring >= HIT_SCORE."""
    anything = sum(any(d.score >= HIT_SCORE for d in frame) for frame in found)
    person = sum(any(d.score >= HIT_SCORE and d.class_name == "person" for d in frame) for frame in found)
    return anything, person


def hit_rates(clips: list[tuple[str, np.ndarray]]) -> None:
    names = list(DETECTORS)
    rows: list[tuple[str, int, list[tuple[int, int]]]] = []
    for label, frames in clips:
        progress(f"hit rates: {label}")
        rows.append((label, len(frames), [hits(load_detector(name).detect(frames)) for name in names]))
    pooled = [tuple(sum(row[2][k][j] for row in rows) for j in range(2)) for k in range(len(names))]
    rows.append(("all clips", sum(row[1] for row in rows), pooled))
    print(f"\n## Hit rates: % of frames with any detection / with a person, score >= {HIT_SCORE}")
    print(f"| clip | frames | {' | '.join(names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    for label, count, counts in rows:
        cells = " | ".join(f"{100 * a / count:.0f} / {100 * p / count:.0f}" for a, p in counts)
        print(f"| {label} | {count} | {cells} |")


def raw_outputs(name: str, detector: BoxDetector, frame: np.ndarray) -> dict[str, np.ndarray]:
    """Our raw graph outputs of one frame, by graph output name."""
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).unsqueeze(0)
    with torch.no_grad():
        if name == "nanodet":
            from vcm.models.nanodet import OUTPUTS

            outputs = detector.raw_outputs(detector.network_input(image))
            return {n: o.numpy() for n, o in zip([n for pair in OUTPUTS for n in pair], outputs, strict=True)}
        from vcm.models.centernet import DISTANCES, HEATMAP

        heatmap, distances = detector.raw_outputs(image)
        return {HEATMAP: heatmap.numpy(), DISTANCES: distances.numpy()}


def agreement(ours: Sequence[Detection], theirs: Sequence[dict[str, Any]]) -> str:
    """Counts, then per reference detection its best same-class match: min IoU, max score gap."""
    ious, gaps, unmatched = [], [], 0
    for reference in theirs:
        same_class = [d for d in ours if d.class_id == reference["class_id"]]
        if not same_class:
            unmatched += 1
            continue
        match = max(same_class, key=lambda d: box_iou(d.box, reference["box"]))
        ious.append(box_iou(match.box, reference["box"]))
        gaps.append(abs(match.score - reference["score"]))
    equal = "yes" if len(ours) == len(theirs) else "NO"
    text = f"{len(ours)} / {len(theirs)} | {equal} | "
    text += f"{min(ious):.4f} | {max(gaps):.1e}" if ious else "- | -"
    return text + (f" | {unmatched}" if unmatched else " | 0")


def parity() -> None:
    from vcm.models.tfjs.reference import run_reference

    sample = read_video(fetch_sample(), max_frames=1).frames[0]
    face_path = next(p for p in face_clip_files(FACE_CLIP_FRAMES) if p.stem == PARITY_FACE_CLIP)
    face = read_video(face_path, max_frames=1).frames[0]
    frames = [("sample frame 0", sample), (f"face clip {PARITY_FACE_CLIP} frame 0", face)]
    raw_rows, detection_rows = [], []
    for name in PARITY_DETECTORS:
        detector = load_detector(name)
        for label, frame in frames:
            progress(f"parity: {name} on {label} (Node)")
            start = time.perf_counter()
            reference = run_reference(name, frame)
            progress(f"parity: Node took {time.perf_counter() - start:.1f} s")
            for output, ours in raw_outputs(name, detector, frame).items():
                theirs = reference.raw[output]
                diff = float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else float("nan")
                raw_rows.append(f"| {name} | {label} | {output} {list(theirs.shape)} | {diff:.2e} "
                                f"| {float(np.abs(theirs).max()):.3g} |")
            found = detector.detect(frame[None])[0]
            detection_rows.append(f"| {name} | {label} | {agreement(found, reference.results)} |")
    print("\n## Parity with TensorFlow.js (Node): raw outputs")
    print("| detector | frame | output [shape] | max abs diff | max abs reference |")
    print("|---|---|---|---|---|")
    print("\n".join(raw_rows))
    print("\n## Parity with TensorFlow.js (Node): detections (score >= 0.25, after NMS)")
    print("| detector | frame | count ours / reference | count equal | min IoU of matches "
          "| max score diff | reference unmatched |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(detection_rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8, help="frames per timed pass")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per model")
    parser.add_argument("--skip-parity", action="store_true", help="skip the Node reference runs")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)  # as the detectors set it
    frames = read_video(fetch_sample(), max_frames=args.frames).frames
    clips = hit_clips()
    print(f"# vcm detector benchmark: {os.cpu_count()} cores, {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    sys.stdout.flush()
    speed(frames, args.repeats)
    hit_rates(clips)
    if args.skip_parity:
        print("\n## Parity with TensorFlow.js: skipped (--skip-parity)")
    else:
        parity()
    progress("done")


if __name__ == "__main__":
    main()
