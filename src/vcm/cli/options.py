"""Command-line options shared by several `vcm` commands, declared once; their defaults come
from the library's settings objects."""

import argparse
import json
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from vcm.api.contract import EARLIEST, LATEST, epoch_seconds
from vcm.atomic import write_text_atomic
from vcm.codec.options import CODECS, MAX_GOP
from vcm.codec.qpmap import QP_MAX
from vcm.errors import InputError
from vcm.media.source import FrameSource, parse_fps, parse_size
from vcm.models.detectors import DEFAULT_DETECTOR, check_detector_name, detector_names
from vcm.planners import PlanSettings
from vcm.tasks import CLASS_SETS, DEFAULT_CLASSES, TASKS, class_names, task_entry
from vcm.tasks.targets import TargetSpec

PLAN_DEFAULTS = PlanSettings()
TOKEN_ENV = "VCM_TOKEN"
Subcommands = "argparse._SubParsersAction[argparse.ArgumentParser]"


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum (and <= maximum when given); the one place such
    a check is written."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


def number_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (NaN and infinities refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a number in {low:g}..{high:g}, got {text!r}")
        return value

    return parse


def add_source_options(parser: argparse.ArgumentParser, name: str = "video", optional: bool = False) -> None:
    """The input positional (a file, '-', a pipe or a URL) with --size, --fps and --frames."""
    parser.add_argument(name, nargs="?" if optional else None,
                        help="input: a video file (any format FFmpeg reads), raw .yuv, '-' for "
                        "standard input, a named pipe, or an rtsp/http/udp/tcp URL")
    parser.add_argument("--size", help="WxH of a raw YUV 4:2:0 input")
    parser.add_argument("--fps", help="frame rate of a raw YUV input")
    add_frames_option(parser)


def add_frames_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=at_least(1), help="use only the first N frames")


def open_source(args: argparse.Namespace, name: str = "video", start: int = 0,
                max_frames: int | None = None) -> FrameSource:
    """The input of add_source_options as a stream from frame `start`, at most max_frames (default
    --frames) frames; every input option checked first."""
    size, fps = raw_format(args)
    return FrameSource(getattr(args, name), size=size, fps=fps, start=start,
                       max_frames=args.frames if max_frames is None else max_frames)


def raw_format(args: argparse.Namespace) -> tuple[tuple[int, int] | None, float | None]:
    """(--size as (width, height), --fps) of a raw input, each None when not given; checked."""
    size = parse_size(args.size) if args.size is not None else None
    fps = parse_fps(args.fps) if args.fps is not None else None
    return size, fps


def add_codec_option(parser: argparse.ArgumentParser, default: str = PLAN_DEFAULTS.codec,
                     role: str = "codec of the stream") -> None:
    parser.add_argument("--codec", choices=list(CODECS), default=default, help=f"{role} ({default})")


def add_gop_option(parser: argparse.ArgumentParser, role: str = "frames per GOP: 1 I then P") -> None:
    parser.add_argument("--gop", type=at_least(1, MAX_GOP), default=PLAN_DEFAULTS.gop,
                        help=f"{role} ({PLAN_DEFAULTS.gop})")


def add_detector_option(parser: argparse.ArgumentParser) -> None:
    """--detector NAME: which object detector finds, plans for and checks the targets."""
    parser.add_argument("--detector", type=check_detector_name, default=DEFAULT_DETECTOR,
                        help=f"object detector: {', '.join(detector_names())} ({DEFAULT_DETECTOR})")


def add_task_option(parser: argparse.ArgumentParser) -> None:
    """--task: what the planners keep detectable (vcm.tasks)."""
    described = "; ".join(f"{task.name}: {task.summary}, --min-score {task.min_score}"
                          for task in TASKS.values())
    parser.add_argument("--task", choices=list(TASKS), default="detect",
                        help=f"what coding must keep (detect). {described}")


def add_face_detector_option(parser: argparse.ArgumentParser, *, default: str, role: str,
                             flag: str = "--face-detector") -> None:
    """A face-detector choice; `role` says what it is used for in the help."""
    from vcm.models.face_detectors import FACE_DETECTORS

    parser.add_argument(flag, choices=list(FACE_DETECTORS), default=default,
                        help=f"face detector that {role} ({default})")


def add_task_target_options(parser: argparse.ArgumentParser) -> None:
    """What the machine task needs: its operating score and classes of interest."""
    parser.add_argument("--min-score", type=number_in(0, 1),
                        help="target/survival score (default: the --task's operating score)")
    parser.add_argument("--classes", default=DEFAULT_CLASSES, metavar="NAMES",
                        help="only these classes are targets: comma-separated COCO names, or a named set ("
                        + "; ".join(f"{name}: {', '.join(names) or 'every class'}"
                                    for name, names in CLASS_SETS.items())
                        + f"); default {DEFAULT_CLASSES}")


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", choices=["all", "top1"], default="all",
                        help="every confident detection, or the clip's best object tracked by IoU")
    add_task_target_options(parser)
    parser.add_argument("--min-iou", type=number_in(0, 1), default=0.5,
                        help="survival IoU with the original (0.5)")
    parser.add_argument("--max-qp", type=int, default=QP_MAX, help=f"QP of frames without targets ({QP_MAX})")
    parser.add_argument("--check", choices=["intra", "p-frame"], default=PLAN_DEFAULTS.check,
                        help="how frame-qp/xai code a candidate: alone as an I-frame (intra), or "
                        "predicted from the previous reconstruction (p-frame)")


def target_spec(args: argparse.Namespace) -> TargetSpec:
    """The TargetSpec of add_target_options (or add_task_target_options alone) and --task
    (default detect), checked."""
    if args.min_score is None:
        args.min_score = task_entry(getattr(args, "task", "detect")).min_score
    min_iou = getattr(args, "min_iou", TargetSpec.min_iou)
    check_scores(args.min_score, min_iou)
    if hasattr(args, "max_qp"):
        check_qp(args.max_qp, "--max-qp")
    return TargetSpec(mode=getattr(args, "targets", "all"), min_score=args.min_score, min_iou=min_iou,
                      classes=class_names(args.classes))


def check_scores(min_score: float, min_iou: float) -> None:
    if not 0 < min_score <= 1 or not 0 < min_iou <= 1:
        raise InputError("--min-score and --min-iou must be in (0, 1]")


def check_qp(qp: int, option: str) -> None:
    if not 0 <= qp <= QP_MAX:
        raise InputError(f"{option} must be in 0..{QP_MAX}, got {qp}")


def add_server_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--server", required=required, help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"bearer token (default: ${TOKEN_ENV})")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="the service's data folder")
    parser.add_argument("--catalog", help="catalog URL: sqlite:///PATH (default DATA/catalog.sqlite) or "
                        "postgresql+psycopg://USER@HOST/DB; recorded in DATA/system.json")
    parser.add_argument("--storage", help="storage: a folder (default DATA, tiers DATA/hot and DATA/cold) or "
                        "s3://BUCKET[/PREFIX][?endpoint=URL]; recorded in DATA/system.json")


def add_time_range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", help="start (epoch seconds or ISO 8601, UTC)")
    parser.add_argument("--to", dest="end", help="end (epoch seconds or ISO 8601, UTC)")


def parse_time(text: str | None) -> float | None:
    """Epoch seconds from a number or an ISO 8601 time (UTC unless it names a zone)."""
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"bad time {text!r}: give epoch seconds or ISO 8601 (2026-11-23T10:00:00)"
                             ) from None
        seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return epoch_seconds(seconds, "time")


def iso_time(seconds: float | None) -> str:
    """A stored time as UTC text; '-' when absent, 'invalid' outside the times vcm stores."""
    if seconds is None:
        return "-"
    if not (math.isfinite(seconds) and EARLIEST <= seconds <= LATEST):
        return "invalid"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def segment_span(text: str, option: str) -> tuple[int, int]:
    """Segment indices A:B (0 <= A < B) of an option such as --segments."""
    first, _, last = text.partition(":")
    try:
        span = (int(first), int(last))
    except ValueError:
        raise InputError(f"{option} must be A:B (segment indices), got {text!r}") from None
    if not 0 <= span[0] < span[1]:
        raise InputError(f"{option} must be A:B with 0 <= A < B, got {text!r}")
    return span


def write_json(path: Path, payload: object) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2))
