"""`vcm activity`: activity in H.264 streams from motion vectors, residuals and I-frames
(classify, train, search)."""

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from vcm.atomic import atomic_output, check_output, check_output_folder, write_text_atomic
from vcm.cdomain.synthetic import WINDOW
from vcm.cli.options import Subcommands, add_detector_option
from vcm.errors import InputError
from vcm.progress import console, progress_bar

if TYPE_CHECKING:
    from rich.progress import Progress

    from vcm.cdomain.model import ActivityModel


ACTIVITY_ACTIONS = ("train", "search")


def add_parser(commands: Subcommands) -> None:
    from vcm.cdomain.dataset import DatasetConfig
    from vcm.cdomain.training import TrainSettings

    activity = commands.add_parser(
        "activity", help="recognise activity in H.264 streams from motion vectors, residuals, I-frames",
        description="Classify every 16-frame window (`vcm activity VIDEO --json OUT`), train the "
        "model (`vcm activity train`), or search streams for moving people (`vcm activity search`). "
        "The cascade answers from the motion vectors alone when confident, "
        "else adds the I-frame network, then the residual network.")
    actions = activity.add_subparsers(dest="activity_command", required=True,
                                      metavar="VIDEO | train | search")
    classify = actions.add_parser(
        "classify", help="classify the windows of VIDEO (the default action)",
        description="Label every 16-frame window of an H.264 stream from its motion vectors, residuals "
        "and I-frames, and print a table (--json: every window with its confidence and exit).")
    classify.add_argument("video", type=Path, help="an H.264 video")
    classify.add_argument("--json", type=Path,
                          help="write every window (first, last, label, confidence, exit)")
    classify.add_argument("--model", type=Path, help="an activity model (default: the shipped one)")
    classify.add_argument("--no-early-exit", dest="early_exit", action="store_false",
                          help="always use all three networks")
    classify.set_defaults(run=run_activity_classify)

    train = actions.add_parser(
        "train", help="build the synthetic data set and train the model with progressive distillation",
        description="Render, encode and read the train and validation recordings into DATA (kept; "
        "rebuilt only when their numbers change), train each stream network alone, rank them on "
        "validation, distil down the ranking, fit the ensemble and the early-exit threshold on "
        "validation. Phases are checkpointed in DATA/checkpoints: a stopped run resumes.")
    train.add_argument("--data", type=Path, required=True, help="data set folder")
    train.add_argument("--out", type=Path, required=True, help="the model file (.pt) to write")
    defaults, settings = DatasetConfig(), TrainSettings()
    train.add_argument("--recordings", type=int, nargs=2, default=(defaults.train, defaults.validation),
                       metavar=("TRAIN", "VALIDATION"),
                       help=f"recordings of {defaults.windows} windows per split "
                       f"({defaults.train} {defaults.validation})")
    train.add_argument("--epochs", type=int, default=settings.epochs,
                       help=f"epochs per phase ({settings.epochs})")
    train.add_argument("--seed", type=int, default=settings.seed, help=f"training seed ({settings.seed})")
    train.add_argument("--tile-frames", type=int,
                       help="use only the first N frames of the validation tiles to choose the search "
                       "threshold (all)")
    add_detector_option(train)
    train.set_defaults(run=run_activity_train)

    search = actions.add_parser(
        "search", help="find windows with people moving in stored H.264 streams",
        description="Score every window of each stream from its compressed domain (1 - P(stand)); run "
        "--detector on the pictures of the windows whose score reaches the model's search threshold "
        "(chosen on validation by `vcm activity train`) and report the movements it confirms: people "
        "moving left, right, toward (down the picture), away, or standing.")
    search.add_argument("videos", type=Path, nargs="+", help="H.264 streams")
    search.add_argument("--json", type=Path, help="write every window's score and the confirmed movements")
    search.add_argument("--model", type=Path, help="an activity model (default: the shipped one)")
    search.add_argument("--confirm-stride", type=int, default=1,
                        help="detect on every N-th picture of a flagged window (1: every picture, the "
                        "same tracks as a full detector pass; 3 is about 3x cheaper and finds fewer)")
    add_detector_option(search)
    search.set_defaults(run=run_activity_search)


def activity_argv(argv: Sequence[str]) -> list[str]:
    """`vcm activity VIDEO ...` is `vcm activity classify VIDEO ...`."""
    argv = list(argv)
    if len(argv) > 1 and argv[0] == "activity" and argv[1] not in (*ACTIVITY_ACTIONS, "classify", "-h",
                                                                   "--help"):
        argv.insert(1, "classify")
    return argv


def run_activity_classify(args: argparse.Namespace) -> None:
    from vcm.cdomain.activity import classify_video
    from vcm.cdomain.model import SHIPPED_MODEL, ActivityModel

    if args.json:
        check_output(args.json)
    model = ActivityModel.load(args.model or SHIPPED_MODEL)
    windows = []
    with progress_bar() as progress:
        task = progress.add_task(f"classify {args.video.name}", total=None)
        for window in classify_video(args.video, model, args.early_exit):
            windows.append(window)
            progress.advance(task, window.last - window.first + 1)
    if not windows:
        raise InputError(f"{args.video} has no complete window of frames")
    if args.json:
        report = {"video": str(args.video), "windows": [asdict(window) for window in windows]}
        write_text_atomic(args.json, json.dumps(report, indent=1))
    table = Table(title=f"{args.video.name}: {len(windows)} windows")
    for column in ("frames", "action", "confidence", "exit"):
        table.add_column(column)
    for window in windows[:40]:
        table.add_row(f"{window.first}-{window.last}", window.label, f"{window.confidence:.2f}", window.exit)
    console.print(table)
    exits = Counter(window.exit for window in windows)
    console.print(", ".join(f"{name}: {count / len(windows):.0%}" for name, count in exits.items())
                  + (f"; all windows in {args.json}" if args.json else ""))


def run_activity_train(args: argparse.Namespace) -> None:
    from vcm.cdomain.dataset import DatasetConfig, build_split, data_identity, load_split
    from vcm.cdomain.pkd import Checkpoints, train_pkd
    from vcm.cdomain.training import TrainSettings

    check_output(args.out)
    check_output_folder(args.data)
    too_few_frames = args.tile_frames is not None and args.tile_frames < WINDOW
    if min(args.recordings) < 1 or args.epochs < 1 or too_few_frames:
        raise InputError(f"--recordings and --epochs must be at least 1, --tile-frames at least {WINDOW}")
    config = DatasetConfig(train=args.recordings[0], validation=args.recordings[1])
    settings = TrainSettings(epochs=args.epochs, seed=args.seed)
    args.data.mkdir(parents=True, exist_ok=True)
    with progress_bar() as progress:
        splits = {}
        for split in ("train", "validation"):
            task = progress.add_task(f"{split} recordings", total=config.recordings(split))
            build_split(args.data, split, config,
                        lambda done, task=task: progress.update(task, completed=done + 1))
            splits[split] = load_split(args.data, split)
        tasks: dict[str, int] = {}

        def report(phase: str, epoch: int, accuracy: float) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=settings.epochs)
            progress.update(tasks[phase], completed=epoch + 1,
                            description=f"{phase} (validation {accuracy:.3f})")

        result = train_pkd(splits["train"], splits["validation"],
                           Checkpoints(args.data / "checkpoints" / f"seed{args.seed}", settings,
                                       data_identity(args.data)), report)
        result.model.search_threshold = _search_threshold(args.data, result.model, args.detector,
                                                          args.tile_frames, progress)
    with atomic_output(args.out) as temporary:
        result.model.save(temporary)
    summary = {"validation_accuracy": {f"alone-{s}": p.accuracy for s, p in result.alone.items()}
               | {f"pkd-{s}": p.accuracy for s, p in result.distilled.items()},
               "order": list(result.order), "weights": result.model.weights,
               "threshold": result.model.threshold, "search_threshold": result.model.search_threshold,
               "settings": asdict(settings), "data": asdict(config)}
    write_text_atomic(args.out.with_suffix(".json"), json.dumps(summary, indent=1))
    console.print(f"{args.out}: distilled in the order {' -> '.join(result.order)}, "
                  f"weights {result.model.weights}, early-exit threshold {result.model.threshold:.2f}")


def _search_threshold(data: Path, model: "ActivityModel", detector_name: str, frames: int | None,
                      progress: "Progress") -> float:
    """Fit the search threshold on the validation tiles of the real sample (reference: the
    detector on every picture)."""
    from vcm.cdomain.dataset import build_tiles
    from vcm.cdomain.search import detector_pipeline, fit_search_threshold, moving_scores
    from vcm.models import load_detector

    detector = load_detector(detector_name)
    tiles = build_tiles(data, "validation", frames)
    task = progress.add_task("search threshold (validation tiles)", total=len(tiles))
    scores: list[float] = []
    moving: list[bool] = []
    for tile in tiles:
        truth = detector_pipeline(tile, detector)
        scores += moving_scores(tile, model)[:len(truth)]
        moving += [window.moving for window in truth]
        progress.advance(task)
    return fit_search_threshold(scores, moving)


def run_activity_search(args: argparse.Namespace) -> None:
    from vcm.cdomain.model import SHIPPED_MODEL, ActivityModel
    from vcm.cdomain.search import compressed_search
    from vcm.models import load_detector

    if args.json:
        check_output(args.json)
    if args.confirm_stride < 1:
        raise InputError("--confirm-stride must be at least 1")
    for video in args.videos:
        if not video.is_file():
            raise InputError(f"no such file: {video}")
    model = ActivityModel.load(args.model or SHIPPED_MODEL)
    detector = load_detector(args.detector)
    results = []
    with progress_bar() as progress:
        task = progress.add_task("search", total=len(args.videos))
        for video in args.videos:
            results.append(compressed_search(video, model, detector, args.confirm_stride))
            progress.advance(task)
    table = Table(title=f"moving people (score >= {model.search_threshold:.2f}, then {args.detector})")
    for column in ("stream", "frames", "score", "movements"):
        table.add_column(column)
    for result in results:
        for window in result.found:
            if window.moving:
                table.add_row(Path(result.path).name, f"{window.first}-{window.last}",
                              f"{result.scores[window.first // WINDOW]:.2f}", ", ".join(window.kinds))
    console.print(table)
    total = sum(len(r.scores) for r in results)
    flagged = sum(sum(r.flagged) for r in results)
    console.print(f"{flagged} of {total} windows flagged by the compressed domain; the detector ran on those "
                  "only")
    if args.json:
        report = {"search_threshold": model.search_threshold, "detector": args.detector,
                  "streams": [{"path": r.path, "scores": [round(s, 4) for s in r.scores],
                               "flagged": r.flagged, "found": [asdict(w) for w in r.found]} for r in results]}
        write_text_atomic(args.json, json.dumps(report, indent=1))
