"""`vcm eval`, `vcm demo`, `vcm summary` and `vcm privacy`: measuring methods for machines."""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from vcm.atomic import check_output, check_output_folder
from vcm.cli.options import (
    Subcommands,
    add_codec_option,
    add_detector_option,
    add_face_detector_option,
    add_gop_option,
    add_target_options,
    add_task_option,
    at_least,
    segment_span,
    target_spec,
    write_json,
)
from vcm.errors import InputError, OutputError
from vcm.eval.references import REFERENCES
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR, MEASURING_FACE_DETECTOR
from vcm.pipeline.methods import parse_methods
from vcm.planners import listed_planners
from vcm.preedit.network import DEFAULT_MODEL, SHIPPED
from vcm.progress import console, progress_bar, task_reporter

if TYPE_CHECKING:
    from vcm.eval.runner import EvalConfig

DEMO_METHODS = ("uniform", "bbox", "frame-qp", "fast")


def add_parser(commands: Subcommands) -> None:
    planners = ",".join(listed_planners())
    evaluation = commands.add_parser(
        "eval", help="evaluate methods on video segments",
        description="Cut videos into segments, run every method, decode, re-detect, and write "
        "results.csv/json, summary.json, plots and index.html.")
    evaluation.add_argument("videos", nargs="+", help="input videos")
    evaluation.add_argument("--methods", default=planners,
                            help=f"comma-separated methods ({planners}), each optionally "
                            "with +preedit (frames pre-edited, see --preedit) and/or +privacy "
                            "(faces concealed)")
    evaluation.add_argument("--segment", type=at_least(1), default=33, help="frames per segment (33)")
    evaluation.add_argument("--max-segments", type=at_least(1), help="at most this many segments per video")
    evaluation.add_argument("--first-segment", type=at_least(0), default=0, metavar="N",
                            help="skip each video's segments before segment N (0), e.g. to "
                            "evaluate a test split")
    evaluation.add_argument("--segment-stride", type=at_least(1), default=1, metavar="K",
                            help="from --first-segment on, every K-th segment (1): spreads "
                            "--max-segments over a long video")
    add_codec_option(evaluation)
    add_gop_option(evaluation)
    evaluation.add_argument("--ladder", action="store_true",
                            help="also run each method's rate ladder (for curves and BD-rate)")
    evaluation.add_argument("--measured-by", default="", metavar="DETECTORS",
                            help="comma-separated other detectors that also judge every encode by F1 "
                            "(plan with one model, measure with another), e.g. yolov3-tiny,centernet")
    evaluation.add_argument("--references", default="", metavar="NAMES",
                            help="comma-separated reference codings measured beside the methods, each "
                            "over its own ladder: " + "; ".join(f"{name}: {coding.summary}"
                                                                for name, coding in REFERENCES.items()))
    evaluation.add_argument("--repair", type=at_least(0), default=1, metavar="ROUNDS",
                            help="repair rounds for frame-qp (1)")
    evaluation.add_argument("--preedit", default=DEFAULT_MODEL, metavar="MODEL",
                            help="pre-editor for METHOD+preedit methods: a shipped one "
                            f"({', '.join(SHIPPED)}) or a file from `vcm preedit train` ({DEFAULT_MODEL})")
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
    add_target_options(evaluation)
    add_task_option(evaluation)
    evaluation.add_argument("--pose", action="store_true",
                            help="also measure pose accuracy: MoveNet poses of the original still found "
                            "after decoding (OKS >= 0.5); on with --task pose")
    evaluation.add_argument("--vmaf", action="store_true",
                            help="also measure VMAF and VMAF-NEG per encode (libvmaf, from the FFmpeg of "
                            "the pinned imageio-ffmpeg wheel, fetched on first use: `vcm fetch vmaf`)")
    add_detector_option(evaluation)
    evaluation.add_argument("--out", type=Path, required=True,
                            help="output folder (created; files in it are replaced)")
    evaluation.add_argument("--ray", metavar="ADDRESS",
                            help="one Ray task per video: local, auto (join this machine's cluster, else "
                            "local) or HOST:PORT (the output folder must be shared with the workers)")
    evaluation.set_defaults(run=run_eval)

    demo = commands.add_parser("demo", help="evaluate the methods on the sample clip",
                               description="The main job on the embedded sample: `vcm eval` of "
                               f"{', '.join(DEMO_METHODS)} on 33-frame segments of vtest.avi.")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (out/demo)")
    demo.add_argument("--segments", type=at_least(1), default=2, help="33-frame segments to use (2)")
    add_codec_option(demo)
    demo.set_defaults(run=run_demo)

    summary = commands.add_parser(
        "summary", help="summarise an evaluation's results again, e.g. over a test split",
        description="Read the results.json of one or more `vcm eval` runs and print (and optionally "
        "write) the per-method summary and BD-rates over the chosen segments.")
    summary.add_argument("results", type=Path, nargs="+", help="results.json files written by vcm eval")
    summary.add_argument("--segments", metavar="A:B", help="only segments A..B-1 (default: all)")
    summary.add_argument("--json", type=Path, help="write the summary to this JSON file")
    summary.add_argument("--markdown", action="store_true",
                         help="print the tables as Markdown (every column of summary.json's methods)")
    summary.add_argument("--headline", action="store_true",
                         help="print the headline sentence and one compact Markdown table: per method "
                         "its size, F1 (by every detector that judged), erased segments and BD-rates on F1")
    summary.set_defaults(run=run_summary)

def run_eval(args: argparse.Namespace) -> None:
    from vcm.eval.runner import EvalConfig

    parse_methods(args.methods)
    for path in args.videos:
        if not Path(path).is_file():
            raise InputError(f"no such file: {path}")
    check_output_folder(args.out)
    config = EvalConfig(methods=[m.strip() for m in args.methods.split(",") if m.strip()],
                        segment=args.segment, max_segments=args.max_segments,
                        first_segment=args.first_segment,
                        segment_stride=args.segment_stride, codec=args.codec, gop=args.gop,
                        max_qp=args.max_qp, targets=target_spec(args),
                        ladder=args.ladder, repair_rounds=args.repair, check=args.check,
                        privacy_metrics=args.privacy, detector=args.detector, task=args.task,
                        pose_metrics=args.pose or args.task == "pose",
                        conceal_faces_with=args.face_detector, leak_faces_with=args.leak_face_detector,
                        preedit_model=args.preedit, preedit_detections=args.preedit_detections,
                        references=_names(args.references), measured_by=_names(args.measured_by),
                        perceptual_metrics=args.vmaf)
    evaluate(args.videos, config, args.out, ray_address=args.ray)


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names, blanks dropped."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def run_demo(args: argparse.Namespace) -> None:
    from vcm.eval.runner import EvalConfig
    from vcm.media import fetch_sample

    config = EvalConfig(methods=DEMO_METHODS, segment=33, max_segments=args.segments, codec=args.codec)
    evaluate([fetch_sample()], config, args.out)


def evaluate(videos: Sequence[str | Path], config: "EvalConfig", out: Path, *,
             ray_address: str | None = None) -> None:
    """Run `config` over `videos` (on Ray when an address is given) and write the report to `out`."""
    from vcm.batch import run_batch
    from vcm.eval.report import write_examples, write_report, write_results
    from vcm.eval.runner import EvalJob, evaluate_videos

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
    columns = {"method": "method", "median_size_ratio": "size", "mean_f1": "F1",
               "mean_detection_rate": "det", "min_detection_rate": "worst", "mean_map50": "mAP50",
               "frames_per_second": "fps", "segments_erased": "erased"}
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
    console.print("size: median bytes over uniform QP 30; F1: detections on the decoded frames against "
                  "the original's at the operating score; det, worst: targets still detected (mean, worst "
                  "segment); fps: frames/s; erased: segments smaller than uniform QP 30 at an F1 more than "
                  "0.05 below its (shares of segments, PSNR, codec checks and more: summary.json)"
                  + ("; leak: faces (found by the measuring face detector) whose identity survives; "
                     "leak*: the same over the faces the concealing detector finds; person: person "
                     "targets kept" if privacy else "")
                  + ("; pose: MoveNet poses kept (OKS >= 0.5)" if pose else ""))


def _cell(value: object) -> str:
    """A table cell: floats to 3 decimals (1 from 10 up), None as '-', the rest as they are."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def run_summary(args: argparse.Namespace) -> None:
    from vcm.eval.report import read_results
    from vcm.eval.summary import measures_pose, measures_privacy, summarise

    rows = [row for path in args.results for row in read_results(path)]
    keys = [(row.video, row.segment, row.method, row.point) for row in rows]
    if len(set(keys)) < len(keys):
        raise InputError("the same video, segment, method and point appear more than once: give each "
                         "result once")
    if args.segments is not None:
        first, last = segment_span(args.segments, "--segments")
        rows = [row for row in rows if first <= row.segment < last]
    if not rows:
        raise InputError(f"no rows for segments {args.segments} in {', '.join(map(str, args.results))}")
    if args.json is not None:
        check_output(args.json)
    summary = summarise(rows)
    if args.headline:
        _print_headline(summary)
    if args.markdown:
        _print_markdown(summary)
    elif not args.headline:
        _print_methods(summary["methods"], f"{len({(r.video, r.segment) for r in rows})} segments",
                       measures_privacy(rows), measures_pose(rows))
        _print_bd_rates(summary["bd_rate"])
    if args.json is not None:
        write_json(args.json, summary)
        if not args.markdown and not args.headline:
            console.print(f"summary: {args.json}")


def _print_bd_rates(entries: list[dict[str, Any]]) -> None:
    if all(entry["bd_rate_detection_rate_percent"] is None for entry in entries):
        console.print("no BD-rates: the results hold one point per method (run vcm eval --ladder)")
        return
    table = Table(title="BD-rate (%) on F1, detection rate and mAP@0.5 (negative: fewer bits)")
    for heading in ("method", "against", "F1", "detection rate", "mAP@0.5"):
        table.add_column(heading, justify="right")
    for entry in entries:
        table.add_row(str(entry["method"]), str(entry["reference"]), str(entry["bd_rate_f1_percent"]),
                      str(entry["bd_rate_detection_rate_percent"]), str(entry["bd_rate_map50_percent"]))
    console.print(table)


def _print_headline(summary: dict[str, Any]) -> None:
    """The report's first sentence and its compact table, as Markdown."""
    from vcm.eval.report import headline, headline_table

    print(headline(summary))
    print()
    rows = headline_table(summary)
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(value) for value in row.values()) + " |")
    print()


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
