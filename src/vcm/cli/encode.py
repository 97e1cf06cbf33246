"""`vcm encode`: a video in, a standard stream out, planned for the machine task and checked."""

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vcm.atomic import check_output
from vcm.cli.options import (
    PLAN_DEFAULTS,
    Subcommands,
    add_codec_option,
    add_detector_option,
    add_face_detector_option,
    add_gop_option,
    add_source_options,
    add_target_options,
    add_task_option,
    at_least,
    check_qp,
    open_source,
    target_spec,
)
from vcm.codec import QPMapArray
from vcm.codec.encoder import output_format
from vcm.errors import InputError, OutputError
from vcm.interrupt import stop_on_signal
from vcm.media.source import FrameSource
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR
from vcm.pipeline.options import VERIFY_EVERY, Verification
from vcm.planners import GivenMap, PlanSettings, listed_planners
from vcm.preedit.network import DEFAULT_MODEL, SHIPPED
from vcm.progress import ProgressCallback, console, progress_bar, task_reporter

GIVEN = "given"  # the planner --qp-map selects


def add_parser(commands: Subcommands) -> None:
    enc = commands.add_parser("encode", help="encode a video with a per-block QP map",
                              description="Encode to HEVC/H.264 with a planner's QP maps (default "
                              "fast) or a QP map file; check the stream as it is made.")
    add_source_options(enc)
    enc.add_argument("-o", "--output", type=Path, required=True,
                     help="output .mp4/.mov/.mkv/.ts, or raw .hevc/.265/.264")
    add_codec_option(enc)
    enc.add_argument("--method", choices=listed_planners(), default="fast",
                     help="QP planner (fast); --qp-map selects the map file instead")
    enc.add_argument("--qp", type=int, default=PLAN_DEFAULTS.qp,
                     help=f"QP of uniform and bbox ({PLAN_DEFAULTS.qp})")
    enc.add_argument("--qp-map", type=Path, help=".npy int QPs shaped (rows, cols) or "
                     "(frames, rows, cols); rows, cols = ceil(H/16), ceil(W/16); not verified unless "
                     "--verify is given")
    add_gop_option(enc)
    enc.add_argument("--repair", type=at_least(0), default=0, metavar="ROUNDS",
                     help="re-encode each GOP up to ROUNDS times, lowering QP around targets lost "
                     "after decoding (0; implies checking every frame)")
    enc.add_argument("--verify", action=argparse.BooleanOptionalAction,
                     help="decode the stream as it is coded, detect again and report the detection "
                     "rate (default: on, off with --qp-map)")
    enc.add_argument("--verify-every", type=at_least(1), default=VERIFY_EVERY, metavar="N",
                     help=f"check every N-th frame ({VERIFY_EVERY}: keeps up with 10 fps at 768x576)")
    enc.add_argument("--privacy", choices=["faces"],
                     help="faces: replace each face's detail by a generic face before coding so "
                     "identity does not survive while the person stays detectable")
    enc.add_argument("--face-qp", type=int, help="with --privacy: code face blocks at this QP")
    add_face_detector_option(enc, default=CONCEALING_FACE_DETECTOR, role="finds the faces --privacy conceals")
    enc.add_argument("--preedit", nargs="?", const=DEFAULT_MODEL, metavar="MODEL",
                     help="edit every frame with a pre-editor, after planning, before coding: a shipped "
                     f"one ({', '.join(SHIPPED)}; no MODEL: {DEFAULT_MODEL}) or a file from "
                     "`vcm preedit train`")
    enc.add_argument("--preedit-detections", action="store_true",
                     help="let the pre-editor edit what the detector found too (default: left as is)")
    add_target_options(enc)
    add_task_option(enc)
    add_detector_option(enc)
    enc.add_argument("--stats", type=Path, help="write per-frame statistics to this JSON file")
    enc.set_defaults(run=run_encode)


def _check_encode_options(args: argparse.Namespace) -> None:
    check_qp(args.qp, "--qp")
    if args.verify is None:
        args.verify = args.qp_map is None
    if args.repair and not args.verify:
        raise InputError("--repair needs --verify (it re-codes what the check finds lost)")
    if args.qp_map and (args.privacy or args.preedit):
        raise InputError("--privacy and --preedit run with a planner; they cannot be combined with --qp-map")
    output_format(args.output, args.codec)
    check_output(args.output)
    if args.stats is not None:
        check_output(args.stats)
        if args.stats.resolve() == args.output.resolve():
            raise InputError("--stats and -o name the same file")


def run_encode(args: argparse.Namespace) -> None:
    from vcm.pipeline import Edits, run_method
    from vcm.tasks import load_task_model

    _check_encode_options(args)
    spec = target_spec(args)
    privacy = _privacy_config(args)
    with open_source(args) as source:
        method, config, frames = args.method, None, iter(source)
        if args.qp_map:
            maps = QPMapArray.load(args.qp_map, source.width, source.height)
            method, config = GIVEN, GivenMap(str(args.qp_map))
            frames = _all_of_map(source, maps.frames)
        settings = PlanSettings(codec=args.codec, gop=args.gop, qp=args.qp, max_qp=args.max_qp, targets=spec,
                                check=args.check)
        edits = Edits(preeditor=_preeditor(args.preedit), preedit_detections=args.preedit_detections,
                      privacy=privacy, face_detector=_concealer(args.face_detector) if privacy else None)
        verify = Verification(enabled=args.verify, every=args.verify_every, repair_rounds=args.repair)
        detector = load_task_model(args.task, args.detector)
        with _stats_writer(args.stats, source) as stats, progress_bar() as progress, \
                stop_on_signal(source.stop if source.live else None) as received:
            started = time.perf_counter()
            report = run_method(method, frames, source.fps, args.output, detector, settings, config=config,
                                edits=edits, verify=verify, on_frame=_adder(stats),
                                progress=_counting(task_reporter(progress), source.expected_frames))
            elapsed = time.perf_counter() - started
            report.stopped_early = bool(received)
            if stats is not None:
                _finish_stats(stats, report.summary(), args.output)
    rate = report.detection_rate
    measure = "pose survival rate (OKS)" if args.task == "pose" else "detection rate"
    checked = (f"{measure} {rate:.3f} over {report.checked_frames} checked frames "
               f"({report.lost_frames} lost a target)" if rate is not None else "not verified")
    faces = f", {report.faces_concealed} face regions concealed" if privacy else ""
    console.print(f"{args.output}: {report.method}, {report.frame_count} frames, {report.total_bytes} bytes, "
                  f"{report.bitrate_kbps:.1f} kbit/s{faces}, {checked}; "
                  f"{report.frame_count / max(elapsed, 1e-9):.1f} frames/s end to end")
    if received:
        console.print(f"stopped by signal after {report.frame_count} frames; {args.output} is complete")


def _all_of_map(source: FrameSource, map_frames: int | None) -> Iterator[np.ndarray]:
    """The source's frames; InputError at its end if a per-frame QP map has more frames
    (unless the source was stopped), so no output appears."""
    yield from source
    if map_frames is not None and source.frames_read < map_frames and not source.stopped:
        raise InputError(f"the QP map has {map_frames} frames but the video has only {source.frames_read}")


def _preeditor(model: str | None) -> Any:
    if model is None:
        return None
    from vcm.preedit.network import load_preeditor

    return load_preeditor(model)


def _concealer(name: str) -> Any:
    from vcm.models.face_detectors import load_face_detector

    return load_face_detector(name)


def _counting(report: ProgressCallback, total: int | None) -> ProgressCallback:
    """Progress with the total the caller knows (the pipeline cannot know a stream's end)."""
    return lambda label, done, _: report(label, done, total)


def _stats_writer(path: Path | None, source: FrameSource) -> "contextlib.AbstractContextManager[Any]":
    from vcm.streamjson import JsonListWriter

    if path is None:
        return contextlib.nullcontext(None)
    return JsonListWriter(path, "frames", {"input": source.name})


def _adder(stats: Any) -> "Callable[[Any], None] | None":
    """The per-frame sink writing each frame record into the statistics file."""
    return None if stats is None else lambda record: stats.add(record.to_dict())


def _finish_stats(stats: Any, summary: dict[str, object], video: Path) -> None:
    """Move the statistics into place; if that fails the video goes too (all or nothing)."""
    try:
        stats.finish(summary)
    except OutputError:
        video.unlink(missing_ok=True)
        raise


def _privacy_config(args: argparse.Namespace) -> Any:
    from vcm.privacy import PrivacyConfig

    if args.face_qp is not None and args.privacy is None:
        raise InputError("--face-qp needs --privacy faces")
    if args.privacy != "faces":
        return None
    if args.face_qp is None:
        return PrivacyConfig()
    check_qp(args.face_qp, "--face-qp")  # the user's QP replaces the mode's own bounds on face blocks
    return PrivacyConfig(face_qp=args.face_qp, face_max_qp=args.face_qp)
