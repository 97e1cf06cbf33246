"""Privacy benchmark: (1) how small a face can be and still be recognised, which sets
MIN_RECOGNISABLE_FACE; (2) the cost of privacy mode per frame (finding faces with the
concealing detectors, MTCNN + BlazeFace, on every frame or as configured, + concealment) at
640x480 against the fast planner's plan + encode of the same frames, over one window of the
default GOP (the frames run_method plans and conceals together).

Usage: .venv/bin/python bench/bench_privacy.py [--frames 32] [--repeats 5]
Leak and detection rates per method come from `vcm eval` (see docs/benchmarks.md).
Prints markdown tables; times are medians over the repeats, measured in one run.
"""

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vcm.codec import encode
from vcm.media.face_clips import camera_clip, letterbox, load_photo
from vcm.models import load_detector
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR, load_face_detector
from vcm.models.face_identities import load_face_identity
from vcm.models.faces import Face
from vcm.planners import PlanSettings, plan_clip
from vcm.privacy.mode import FaceConcealer, PrivacyConfig

SIZES = (12, 16, 20, 24, 32, 48)
OBAMA = ("obama", "obama2", "obama3")


def size_sweep() -> None:
    """Downscale each Obama photo so its face is S px, embed it, and compare with the two
    other Obama photos at full size (same person: should match, L2 < 0.6)."""
    detector, identity = load_face_detector(), load_face_identity()
    full = {}
    for name in OBAMA:
        photo = load_photo(name)
        face = detector.detect_faces(photo)[0]
        full[name] = (photo, face, identity.embed([photo], face)[0])
    print("| face size (px) | L2 to other photos of the same person (min-max) | matches |")
    print("|---|---|---|")
    for size in SIZES:
        distances = []
        for name, (photo, face, _) in full.items():
            scale = size / face.size
            small = np.asarray(Image.fromarray(photo).resize(
                (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), Image.Resampling.BILINEAR))
            embedding = identity.embed([small], Face(tuple(v * scale for v in face.box), face.score))[0]
            distances += [float(np.linalg.norm(embedding - full[other][2]))
                          for other in OBAMA if other != name]
        matches = sum(d < identity.match_distance for d in distances)
        print(f"| {size} | {min(distances):.2f}-{max(distances):.2f} | {matches}/{len(distances)} |")


def _concealing_ms(clip: np.ndarray, privacy: PrivacyConfig, repeats: int) -> float:
    """Median ms/frame of a FaceConcealer finding and concealing the faces of `clip` as a later
    window of a video: each repeat's concealer first conceals `clip` as the video's first window,
    not counted (that window also searches the video's first frame; the first repeat also builds
    the generic face and loads the detectors)."""
    times = []
    for _ in range(repeats):
        concealer = FaceConcealer(privacy)
        concealer.conceal(clip)
        start = time.perf_counter()
        concealer.conceal(clip)
        times.append((time.perf_counter() - start) / len(clip))
    return statistics.median(times) * 1000


OTHER_STRIDES = (6, 12)  # strides part privacy validates beside the default: what searching less would cost


def mode_cost(frames: int, repeats: int) -> None:
    clip = camera_clip(letterbox(load_photo("obama3")), frames, 640, 480)  # the 640x480
    face_detector, detector = load_face_detector(CONCEALING_FACE_DETECTOR), load_detector()
    default = PrivacyConfig()
    mode_ms = {stride: _concealing_ms(clip, dataclasses.replace(default, stride=stride), repeats)
               for stride in sorted({1, default.stride, *OTHER_STRIDES})}
    private = mode_ms[default.stride]
    finding, fast = [], []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(repeats):
            start = time.perf_counter()
            for frame in clip:
                face_detector.detect_faces(frame)
            finding.append((time.perf_counter() - start) / frames)
            start = time.perf_counter()
            plan = plan_clip("fast", clip, detector, PlanSettings())
            encode([p.rgb for p in plan], [p.qp_map for p in plan], Path(work) / "fast.mp4", fps=10)
            fast.append((time.perf_counter() - start) / frames)
    finding_ms, fast_ms = statistics.median(finding) * 1000, statistics.median(fast) * 1000
    print(f"\n{frames} frames of 640x480 (one window), median of {repeats}, {os.cpu_count()} cores, "
          f"{platform.processor()}")
    print("| step | ms/frame |\n|---|---|")
    print(f"| find faces ({CONCEALING_FACE_DETECTOR}) on one frame | {finding_ms:.1f} |")
    for stride, milliseconds in mode_ms.items():
        mark = " (default)" if stride == default.stride else ""
        print(f"| privacy mode{mark}, faces searched on {-(-frames // stride)} of {frames} frames "
              f"(stride {stride}; find + conceal) | {milliseconds:.1f} |")
    print(f"| fast planner: plan + encode | {fast_ms:.1f} |")
    print(f"| fast+privacy end to end (ratio to fast) | {private + fast_ms:.1f} "
          f"({(private + fast_ms) / fast_ms:.2f}x) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=PlanSettings().gop)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size_sweep()
    mode_cost(args.frames, args.repeats)


if __name__ == "__main__":
    main()
