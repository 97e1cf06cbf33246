"""`vcm preedit train` and `vcm distil`: training the pre-editor and the learned planner."""

import argparse
from pathlib import Path

from vcm.atomic import check_output
from vcm.cli.options import Subcommands, add_detector_option, at_least, number_in, segment_span
from vcm.errors import InputError
from vcm.preedit.train import TrainConfig
from vcm.progress import console, progress_bar, task_reporter

TRAIN_DEFAULTS = TrainConfig()


def add_parser(commands: Subcommands) -> None:
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
    training.add_argument("--start", type=at_least(0), default=0, help="first frame of each input (0)")
    training.add_argument("--stride", type=at_least(1), default=1, help="use every Nth frame (1)")
    training.add_argument("--batch", type=int, default=TRAIN_DEFAULTS.batch,
                          help=f"crops per step ({TRAIN_DEFAULTS.batch})")
    training.add_argument("--crop", type=int, default=TRAIN_DEFAULTS.crop,
                          help=f"crop side, a multiple of 16 ({TRAIN_DEFAULTS.crop})")
    training.add_argument("--learning-rate", type=number_in(1e-9, 1), default=TRAIN_DEFAULTS.learning_rate,
                          help=f"Adam learning rate ({TRAIN_DEFAULTS.learning_rate})")
    training.add_argument("--rate-weight", type=number_in(0, 1e6), default=TRAIN_DEFAULTS.weights.rate,
                          help=f"weight of ln(bits/pixel) ({TRAIN_DEFAULTS.weights.rate})")
    training.add_argument("--qp", type=int, nargs=2, default=TRAIN_DEFAULTS.qp_range, metavar=("LOW", "HIGH"),
                          help="the proxy codes each crop at a QP drawn from LOW..HIGH "
                          f"({' '.join(map(str, TRAIN_DEFAULTS.qp_range))})")
    training.add_argument("--task-weight", type=number_in(0, 1e6), default=TRAIN_DEFAULTS.weights.task,
                          help=f"weight of the detector term ({TRAIN_DEFAULTS.weights.task})")
    training.add_argument("--perceptual-weight", type=number_in(0, 1e6),
                          default=TRAIN_DEFAULTS.weights.perceptual,
                          help="weight of the EfficientNet-Lite0 feature term "
                          f"({TRAIN_DEFAULTS.weights.perceptual})")
    training.add_argument("--vmaf-weight", type=number_in(0, 1e6), default=TRAIN_DEFAULTS.weights.vmaf,
                          help="weight of the VMAF-NEG term, (100 - VMAF-NEG) / 100 of the coded edit "
                          f"({TRAIN_DEFAULTS.weights.vmaf})")
    training.add_argument("--stability-weight", type=number_in(0, 1e6),
                          default=TRAIN_DEFAULTS.weights.stability,
                          help="weight of the edit's change between consecutive frames (needs --p-frames) "
                          f"({TRAIN_DEFAULTS.weights.stability})")
    training.add_argument("--width", type=at_least(1), default=TRAIN_DEFAULTS.width,
                          help=f"the network's channels ({TRAIN_DEFAULTS.width})")
    training.add_argument("--residual", type=number_in(0, 1), default=TRAIN_DEFAULTS.residual,
                          help="bound of a learned correction added to the frame, in [0, 1] units (0: the "
                          f"editor can only blur) ({TRAIN_DEFAULTS.residual})")
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
    training.set_defaults(run=run_preedit_train)

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
    distil.add_argument("--segment", type=at_least(1), default=33, help="frames per segment (33)")
    distil.add_argument("--epochs", type=at_least(1), default=40, help="epochs per run (40)")
    distil.add_argument("--seeds", default="0,1,2", help="one run per seed (0,1,2)")
    add_detector_option(distil)
    distil.set_defaults(run=run_distil)


def run_preedit_train(args: argparse.Namespace) -> None:
    from vcm.models import load_detector
    from vcm.preedit.losses import LossWeights
    from vcm.preedit.train import train, training_frames

    for path in args.inputs:
        if not Path(path).is_file():
            raise InputError(f"no such file: {path}")
    try:
        config = TrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, qp_range=tuple(args.qp),
                             learning_rate=args.learning_rate,
                             weights=LossWeights(rate=args.rate_weight, task=args.task_weight,
                                                 perceptual=args.perceptual_weight, vmaf=args.vmaf_weight,
                                                 stability=args.stability_weight),
                             checkpoint_every=args.checkpoint_every, pool=args.pool, p_frames=args.p_frames,
                             qp_aware=args.qp_aware, width=args.width, residual=args.residual)
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


def run_distil(args: argparse.Namespace) -> None:
    from vcm.media import fetch_sample
    from vcm.models import load_detector
    from vcm.planners.distil import DistilConfig, distil

    video = Path(args.video) if args.video else fetch_sample()
    if not video.is_file():
        raise InputError(f"no such file: {video}")
    train, val = segment_span(args.train, "--train"), segment_span(args.val, "--val")
    if train[0] < val[1] and val[0] < train[1]:
        raise InputError(f"--train {args.train} and --val {args.val} overlap")
    try:
        seeds = tuple(int(seed) for seed in args.seeds.split(","))
    except ValueError:
        raise InputError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    check_output(args.out)
    work = args.work or args.out.with_name(args.out.stem + "-teacher")
    config = DistilConfig(train=train, val=val, segment=args.segment, epochs=args.epochs, seeds=seeds)
    with progress_bar() as progress:
        log = distil(video, load_detector(args.detector), config, args.out, work, task_reporter(progress))
    console.print(f"{args.out}: seed {log['chosen_seed']} chosen on validation; validation loss "
                  f"{log['val_loss_mean']} +- {log['val_loss_std']} over seeds {list(seeds)}")
