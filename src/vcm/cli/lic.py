"""`vcm lic`: the learned codec with task adapters (train-base, train, encode, decode, eval)."""

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from vcm.atomic import check_output, check_output_folder
from vcm.cli.options import Subcommands, at_least
from vcm.errors import InputError
from vcm.progress import console, progress_bar

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp"}
VIDEO_OUT_QP = 10  # H.264 QP of a decoded .mp4: near-transparent, so the picture is what the task gets


def add_parser(commands: Subcommands) -> None:
    from vcm.lic.coding import DEFAULT_QUALITY
    from vcm.lic.distortions import TASKS
    from vcm.lic.model import CodecShape

    lic = commands.add_parser(
        "lic", help="learned codec: one bitstream for people and several machine tasks",
        description="A mean-scale hyperprior codec trained for people and then frozen, with a shared "
        "encoder-side adapter and one decoder-side adapter per machine task: one .vcml bitstream, "
        "the decoder picks the task's picture. Also decodes standard streams through the task's "
        "post-filter.")
    actions = lic.add_subparsers(dest="lic_command", required=True,
                                 metavar="encode | decode | train-base | train | eval")
    encode = actions.add_parser(
        "encode", help="code an image or video into a .vcml file",
        description="Code every picture with the learned codec at --quality; one bitstream from which "
        "`vcm lic decode --task` gives people's picture or a machine task's.")
    encode.add_argument("input", type=Path, help="an image (PNG, JPEG...) or a video")
    encode.add_argument("-o", "--out", type=Path, required=True, help="the .vcml file to write")
    encode.add_argument("--quality", type=int, default=DEFAULT_QUALITY,
                        help=f"1 (lowest rate) .. {CodecShape().qualities} ({DEFAULT_QUALITY})")
    encode.add_argument("--people-only", action="store_true",
                        help="code with the frozen base encoder (no machine adapter)")
    encode.add_argument("--model", type=Path, help="a model file (default: the shipped one)")
    encode.set_defaults(run=run_lic_encode)
    decode = actions.add_parser(
        "decode", help="decode a .vcml file (or a standard stream) into the picture a task needs",
        description="Decode a .vcml file into the picture --task needs (its decoder adapter), or an "
        "HEVC/H.264 video through that task's post-filter; writes a PNG or an H.264 MP4.")
    decode.add_argument("input", type=Path, help="a .vcml file, or an HEVC/H.264 video for its post-filter")
    decode.add_argument("-o", "--out", type=Path, required=True,
                        help="OUT.png (one picture), or OUT.mp4 (H.264 at QP 10)")
    decode.add_argument("--task", default="human", choices=sorted(TASKS), help="whose picture (human)")
    decode.add_argument("--model", type=Path, help="a model file (default: the shipped one)")
    decode.set_defaults(run=run_lic_decode)
    base = actions.add_parser(
        "train-base", help="continue the base codec's training run for some minutes",
        description="Continue the base codec's run (the committed file, or --run) on the training frames "
        "(the sample's train split and the train clips) for --minutes, saving it every few minutes "
        "with its step count, loss curve and validation curve (BD-rate against JPEG and HEVC intra).")
    base.add_argument("--minutes", type=float, required=True, help="wall-clock minutes to train")
    base.add_argument("--run", dest="run_file", type=Path,
                      help="the run file (default: the committed one in the package)")
    base.add_argument("--learning-rate", type=float,
                      help="Adam's learning rate for this session (default: the run's, 1e-4)")
    base.set_defaults(run=run_lic_train_base)
    train = actions.add_parser(
        "train", help="train adapters, fine-tuned bounds and post-filters on the base run's codec",
        description="Every phase starts from the base run's codec, trains on the training frames and "
        "checkpoints into WORK; a stopped run resumes and finished phases are skipped.")
    train.add_argument("--work", type=Path, default=Path("out/lic"), help="checkpoint folder (out/lic)")
    train.add_argument("--out", type=Path, required=True, help="the model file to write")
    train.set_defaults(run=run_lic_train)
    evaluate = actions.add_parser(
        "eval", help="rate-accuracy curves and BD-rates on held-out frames",
        description="On frames of the test clips (never used in training or choices): the base "
        "codec, base + adapters, the "
        "fine-tuned codecs in WORK, JPEG, HEVC intra and HEVC + post-filters; writes results.json, "
        "results.csv, rate_accuracy.png and index.html.")
    evaluate.add_argument("--out", type=Path, required=True, help="report folder")
    evaluate.add_argument("--work", type=Path, default=Path("out/lic"), help="checkpoint folder (out/lic)")
    evaluate.add_argument("--model", type=Path, help="a model file (default: the shipped one)")
    evaluate.add_argument("--clip-frames", type=at_least(1), default=8,
                          help="frames spread over each test clip for people and classification (8); "
                          "detection looks at every 8th frame holding an object")
    evaluate.set_defaults(run=run_lic_eval)


def read_input(path: Path) -> tuple[Iterator[np.ndarray], float]:
    """The frames of an image or video file as (H, W, 3) uint8, one at a time, and its rate."""
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                picture = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as error:
            raise InputError(f"{path} is not a readable image ({error})") from None
        return iter([picture]), 1.0
    from vcm.media import FrameSource

    source = FrameSource(path)

    def frames() -> Iterator[np.ndarray]:
        with source:
            yield from source

    return frames(), source.fps


def run_lic_encode(args: argparse.Namespace) -> None:
    from vcm.lic.coding import LearnedCodec

    check_output(args.out)
    codec = LearnedCodec.load(args.model)
    codec.check_quality(args.quality)
    frames, fps = read_input(args.input)
    total = [0]
    with progress_bar() as progress:
        task = progress.add_task(f"encode {args.input.name}", total=None)

        def advance(_: int, written: int) -> None:
            total[0] += written
            progress.advance(task)

        count = codec.encode_file(frames, args.out, args.quality, fps=fps, machine=not args.people_only,
                                  on_frame=advance)
    header = codec.open_file(args.out)
    bpp = 8 * total[0] / (count * header.width * header.height)
    console.print(f"{args.out}: {count} frame(s) {header.width}x{header.height}, quality {args.quality}, "
                  f"{args.out.stat().st_size} bytes ({bpp:.3f} bits per pixel)")


def run_lic_decode(args: argparse.Namespace) -> None:
    from vcm.lic.bitstream import MAGIC
    from vcm.lic.coding import LearnedCodec

    check_output(args.out)
    suffix = args.out.suffix.lower()
    if suffix not in (".png", ".mp4"):
        raise InputError(f"-o must end in .png or .mp4, got {args.out.name}")
    if not args.input.is_file():
        raise InputError(f"{args.input} does not exist or is not a file")
    codec = LearnedCodec.load(args.model)
    with open(args.input, "rb") as stream:
        learned = stream.read(len(MAGIC)) == MAGIC
    if learned:
        header = codec.open_file(args.input)
        pictures, fps = codec.decode_file(args.input, args.task), header.fps
    else:
        frames, fps = read_input(args.input)
        if args.task != "human":
            codec.postfilter(np.zeros((8, 8, 3), np.uint8), args.task)  # refuses an unknown task now
        pictures = (codec.postfilter(frame, args.task) for frame in frames)
    with progress_bar() as progress:
        task = progress.add_task(f"decode {args.input.name} for {args.task}", total=None)
        count = _write_pictures(pictures, args.out, fps, lambda: progress.advance(task))
    console.print(f"{args.out}: {count} picture(s) for {args.task}")


def _write_pictures(pictures: Iterator[np.ndarray], out: Path, fps: float,
                    advance: Callable[[], None]) -> int:
    """PNG: exactly one picture; MP4: H.264 at VIDEO_OUT_QP. The file appears only when complete."""
    from vcm.atomic import atomic_output

    if out.suffix.lower() == ".png":
        from PIL import Image

        first = next(pictures, None)
        if first is None:
            raise InputError("no pictures to write")
        if next(pictures, None) is not None:
            raise InputError(f"the input holds more than one picture; write a .mp4 instead of {out.name}")
        with atomic_output(out) as temporary:
            Image.fromarray(first).save(temporary, format="PNG")
        advance()
        return 1
    from vcm.codec import encode

    count = [0]

    def counted() -> Iterator[np.ndarray]:
        for picture in pictures:
            height, width = picture.shape[:2]
            count[0] += 1
            advance()
            yield picture[: height - height % 2, : width - width % 2]

    encode(counted(), VIDEO_OUT_QP, out, codec="h264", fps=fps)
    return count[0]


def run_lic_train_base(args: argparse.Namespace) -> None:
    from vcm.lic.base_run import RUN_FILE, continue_run, load_run

    path = args.run_file or RUN_FILE
    load_run(path)  # refuses a missing or foreign file before the frames are read
    check_output(path)
    with progress_bar() as progress:
        task = progress.add_task("base run", total=None)

        def report(step: int, values: dict[str, float]) -> None:
            terms = ", ".join(f"{name} {value:.3g}" for name, value in values.items())
            progress.update(task, description=f"base run step {step} ({terms})")

        state = continue_run(args.minutes, path, report, console.print, args.learning_rate)
    last = state["validation"][-1]
    console.print(f"{path}: step {state['step']}, validation BD-rate {last['bd_jpeg']} % against JPEG, "
                  f"{last['bd_hevc']} % against HEVC intra")


def run_lic_train(args: argparse.Namespace) -> None:
    from vcm.lic.pipeline import RECIPE, assemble, train_recipe

    check_output(args.out)
    check_output_folder(args.work)
    with progress_bar() as progress:
        tasks: dict[str, int] = {}

        def report(phase: str, step: int, steps: int, values: dict[str, float]) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=steps)
            terms = ", ".join(f"{name} {value:.3g}" for name, value in values.items())
            progress.update(tasks[phase], completed=step, description=f"{phase} ({terms})")

        train_recipe(args.work, tuple(RECIPE), report)
    assemble(args.work, args.out)
    console.print(f"{args.out}: base codec, adapters and post-filters (checkpoints in {args.work})")


def run_lic_eval(args: argparse.Namespace) -> None:
    from vcm.lic.coding import LearnedCodec
    from vcm.lic.distortions import MACHINE_TASKS
    from vcm.lic.evaluate import DETECT_FRAME_STEP, evaluate_sets, summary, test_sets
    from vcm.lic.pipeline import phase_model
    from vcm.lic.report import write_report

    check_output_folder(args.out)
    base = LearnedCodec.load(args.model)
    missing = [task for task in MACHINE_TASKS if not (args.work / f"finetune-{task}.pt").exists()]
    if missing:
        raise InputError(f"{args.work} lacks the fine-tuned codecs for {', '.join(missing)}; "
                         "run `vcm lic train` first")
    finetuned = {task: LearnedCodec(phase_model(args.work, f"finetune-{task}")) for task in MACHINE_TASKS}
    sets = test_sets(args.clip_frames)
    with progress_bar() as progress:
        bar = progress.add_task("evaluate", total=None)
        points = evaluate_sets(sets, base, finetuned, lambda what: progress.update(bar, description=what))
    result = summary(points) | {"settings": {
        "frames": {"+".join(tasks): len(frames) for tasks, frames in sets.items()},
        "selection": f"{args.clip_frames} spread over each test clip (people, classification); every "
                     f"{DETECT_FRAME_STEP}th frame holding an object (detection)"}}
    page = write_report(result, args.out)
    for name, tasks in result["bd_rate_percent"].items():
        console.print(f"{name}: " + ", ".join(f"{t} {'n/a' if v is None else f'{v:+.1f} %'}"
                                              for t, v in tasks.items()))
    console.print(f"gap recovered: {result['gap_recovered']}; report {page}")

