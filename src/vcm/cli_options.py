"""Command-line options shared by several `vcm` commands."""

import argparse

from vcm.models.detectors import DEFAULT_DETECTOR, check_detector_name, detector_names


def add_detector_option(parser: argparse.ArgumentParser) -> None:
    """--detector NAME: which object detector finds, plans for and checks the targets."""
    parser.add_argument("--detector", type=check_detector_name, default=DEFAULT_DETECTOR,
                        help=f"object detector: {', '.join(detector_names())} ({DEFAULT_DETECTOR})")
