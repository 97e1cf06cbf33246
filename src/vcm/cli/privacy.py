"""`vcm privacy`: how many faces stay recognisable in a decoded video, and whether people do."""

import argparse
from pathlib import Path

from vcm.atomic import check_output
from vcm.cli.options import (
    Subcommands,
    add_detector_option,
    add_face_detector_option,
    add_frames_option,
    check_scores,
    number_in,
    write_json,
)
from vcm.models.face_detectors import MEASURING_FACE_DETECTOR
from vcm.progress import console, progress_bar, task_reporter
from vcm.tasks import DETECT_MIN_SCORE
from vcm.tasks.targets import TargetSpec


def add_parser(commands: Subcommands) -> None:
    privacy = commands.add_parser(
        "privacy", help="measure face-identity leakage of a decoded video",
        description="Find faces on ORIGINAL (--face-detector, dlib's HOG detector), embed each face region "
        "in both videos (dlib ResNet, same alignment) and report per face the L2 distance and whether the "
        "identity still matches (< 0.6); per video the leak rate and the person detection rate.")
    privacy.add_argument("original", help="original video (or image)")
    privacy.add_argument("decoded", help="decoded/coded video (or image) of the same size and length")
    privacy.add_argument("--json", type=Path, help="write the report (with every face) to this JSON file")
    add_frames_option(privacy)
    privacy.add_argument("--min-score", type=number_in(0, 1), default=DETECT_MIN_SCORE,
                         help=f"person target score ({DETECT_MIN_SCORE})")
    privacy.add_argument("--min-iou", type=number_in(0, 1), default=0.5, help="person survival IoU (0.5)")
    add_detector_option(privacy)
    add_face_detector_option(privacy, default=MEASURING_FACE_DETECTOR,
                             role="finds the faces on ORIGINAL whose identity leak is measured")
    privacy.set_defaults(run=run_privacy)


def run_privacy(args: argparse.Namespace) -> None:
    from vcm.privacy.measure import measure_leak

    check_scores(args.min_score, args.min_iou)
    if args.json:
        check_output(args.json)
    with progress_bar() as progress:
        total, frames = measure_leak(args.original, args.decoded, face_detector=args.face_detector,
                                     detector=args.detector,
                                     spec=TargetSpec(min_score=args.min_score, min_iou=args.min_iou),
                                     max_frames=args.frames, progress=task_reporter(progress))
    leak = "n/a (no recognisable face)" if total.leak_rate is None else _rate(total.leak_rate)
    person = ("n/a (no person target)" if total.person_detection_rate is None
              else f"{total.person_detection_rate:.3f} of {total.person_targets}")
    by_attacker = ", ".join(f"{name} {_rate(total.leak_rate_to(name))}" for name in total.thresholds)
    console.print(f"{frames} frames: {total.recognisable} recognisable faces, {total.leaked} still "
                  f"match an attacker after its inversion attempts (leak rate {leak}; by {by_attacker}; "
                  f"as decoded {_rate(total.leak_rate_as_decoded)}); {total.too_small} too small to "
                  "recognise "
                  f"(< {total.min_face_px:.0f} px); person detection rate {person}")
    if args.json:
        write_json(args.json, {"original": str(args.original), "decoded": str(args.decoded),
                               **total.to_dict()})


def _rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.3f}"
