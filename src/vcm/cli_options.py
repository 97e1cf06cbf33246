"""Command-line options shared by several `vcm` commands."""

import argparse

from vcm.models.detectors import (
    DEFAULT_DETECTOR,
    TASK_MIN_SCORE,
    TASKS,
    check_detector_name,
    detector_names,
)


def add_detector_option(parser: argparse.ArgumentParser) -> None:
    """--detector NAME: which object detector finds, plans for and checks the targets."""
    parser.add_argument("--detector", type=check_detector_name, default=DEFAULT_DETECTOR,
                        help=f"object detector: {', '.join(detector_names())} ({DEFAULT_DETECTOR})")


def add_task_option(parser: argparse.ArgumentParser) -> None:
    """--task: what the planners keep detectable, objects (detect) or human poses (pose)."""
    defaults = ", ".join(f"{task} {score}" for task, score in TASK_MIN_SCORE.items())
    parser.add_argument("--task", choices=TASKS, default="detect",
                        help="what coding must keep: objects found by --detector (detect) or human "
                        "poses, MoveNet keypoints, survival by OKS >= 0.5 (pose); default detect. "
                        f"Default --min-score per task: {defaults}")


def add_face_detector_option(parser: argparse.ArgumentParser, *, default: str, role: str,
                             flag: str = "--face-detector") -> None:
    """A face-detector choice; `role` says what it is used for in the help."""
    from vcm.models.face_detectors import FACE_DETECTORS

    parser.add_argument(flag, choices=list(FACE_DETECTORS), default=default,
                        help=f"face detector that {role} ({default})")
