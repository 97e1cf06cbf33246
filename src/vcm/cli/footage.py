"""The camera and reader commands: `vcm edge` (a camera agent), `vcm restore`, `vcm search`
and `vcm reanalyse` (footage back from the service)."""

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from vcm.atomic import check_output
from vcm.cli.options import (
    Subcommands,
    add_codec_option,
    add_detector_option,
    add_gop_option,
    add_server_options,
    add_source_options,
    add_task_target_options,
    add_time_range_options,
    at_least,
    iso_time,
    number_in,
    open_source,
    parse_time,
    raw_format,
    target_spec,
)
from vcm.errors import InputError
from vcm.interrupt import stop_on_signal
from vcm.pipeline.options import VERIFY_EVERY
from vcm.planners import listed_planners
from vcm.progress import console, progress_bar, task_reporter
from vcm.restoration.target import QualityTarget
from vcm.tasks import DETECT_MIN_SCORE


def add_parser(commands: Subcommands) -> None:
    edge = commands.add_parser("edge", help="run a camera agent: code, spool and upload segments",
                               description="Read SOURCE, code GOP-long segments for machines with their "
                               "restoration layer, and upload them; exits 0 once all are acknowledged. "
                               "With --config, run every camera of a configuration file in one process, "
                               "reconnecting dropped live sources (see docs/system.md).")
    add_source_options(edge, "source", optional=True)
    add_server_options(edge, required=False)
    edge.add_argument("--camera", help="this camera's name")
    edge.add_argument("--config", type=Path, metavar="CAMERAS.toml",
                      help="run the cameras of this file instead (server, spool, [defaults], [cameras.NAME])")
    edge.add_argument("--spool", type=Path, default=Path("spool"), help="local spool folder (./spool)")
    edge.add_argument("--method", choices=listed_planners(), default="fast", help="planner (fast)")
    add_codec_option(edge)
    add_gop_option(edge, role="frames per segment, 1 I then P")
    edge.add_argument("--no-restoration", action="store_true", help="send the machine stream only")
    edge.add_argument("--restore-like-qp", type=at_least(0, 51), default=27, metavar="QP",
                      help="code each restoration layer so the restored segment is within 0.3 dB luma PSNR "
                      "of a uniform QP encode of it (27)")
    edge.add_argument("--give-up-after", type=number_in(0, 1e9), metavar="SECONDS",
                      help="stop when uploads fail for this long (default: retry for ever)")
    edge.add_argument("--verify-every", type=at_least(0), default=0, metavar="N",
                      help=f"decode and check every N-th frame as it is coded, which steers the fast planner "
                      f"({VERIFY_EVERY}: as vcm encode; default 0: no check, open loop, the faster)")
    edge.add_argument("--privacy", choices=["off", "faces"], default="off",
                      help="faces: conceal every face before coding, so neither the machine stream nor the "
                      "restoration layer holds the real faces (off)")
    edge.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    add_detector_option(edge)
    add_task_target_options(edge)
    edge.set_defaults(run=run_edge)

    restore = commands.add_parser(
        "restore", help="get a camera's video back from the service",
        description="Download a camera's segments in a time range and write them as one video: each "
        "segment's machine stream with its restoration layer applied (human-viewing quality), or the "
        "machine streams alone (--machine, no re-coding).")
    add_server_options(restore)
    restore.add_argument("--camera", required=True, help="the camera's name")
    restore.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    add_time_range_options(restore)
    restore.add_argument("--machine", action="store_true",
                         help="the machine stream only (hot tier, no re-coding)")
    add_codec_option(restore, default="h264", role="codec of the restored video, h264 plays in browsers")
    restore.set_defaults(run=run_restore)

    search = commands.add_parser(
        "search", help="find segments by detected class",
        description="List the stored segments whose edge detections include CLASS, per camera and time "
        "range, with the number of detections and the best score.")
    add_server_options(search)
    search.add_argument("--class", dest="class_name", required=True, help="COCO class name, e.g. person")
    search.add_argument("--camera", help="only this camera (default: every camera the token may read)")
    add_time_range_options(search)
    search.add_argument("--min-score", type=number_in(0, 1),
                        help=f"only detections with at least this score (default: the detect task's "
                        f"operating score, {DETECT_MIN_SCORE}, what the machine would report)")
    search.add_argument("--source", metavar="NAME",
                        help="only what NAME found: edge (the cameras) or a stored re-analysis (all)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=run_search)

    reanalyse = commands.add_parser("reanalyse", help="run the detector again over stored machine streams",
                                    description="Detect objects in a camera's stored machine streams, one "
                                    "task per segment, on Ray with --ray; writes JSON.")
    add_server_options(reanalyse)
    reanalyse.add_argument("--camera", required=True, help="the camera's name")
    add_time_range_options(reanalyse)
    reanalyse.add_argument("--every", type=at_least(1), default=1, help="analyse every N-th frame (1)")
    reanalyse.add_argument("--min-score", type=number_in(0, 1), default=0.5, help="lowest score kept (0.5)")
    reanalyse.add_argument("--ray", metavar="ADDRESS",
                           help="run on Ray: local, auto (join this machine's cluster, else local) "
                           "or HOST:PORT")
    reanalyse.add_argument("-o", "--output", type=Path, required=True,
                           help="JSON file of per-segment results")
    reanalyse.add_argument("--store", metavar="NAME",
                           help="also store the detections in the service's catalog as analysis NAME "
                           "(replacing an earlier NAME): search and the viewer show them beside the edge's")
    add_detector_option(reanalyse)
    reanalyse.set_defaults(run=run_reanalyse)


def _client(args: argparse.Namespace) -> Any:
    from vcm.api.client import Client

    return Client(args.server, args.token or "")


def run_edge(args: argparse.Namespace) -> None:
    from vcm.api.contract import check_name
    from vcm.edge import EdgeConfig, Spool, run_agent
    from vcm.media.source import FrameSource, NoFrames
    from vcm.models import load_detector
    from vcm.planners import PlanSettings
    from vcm.privacy.mode import PRIVACY_MODES

    if args.config is not None:
        if args.source is not None or args.camera is not None or args.server is not None:
            raise InputError("vcm edge --config takes its sources, cameras and server from the file; "
                             "give no SOURCE, --camera or --server")
        run_fleet(args.config)
        return
    if args.source is None or args.camera is None or args.server is None:
        raise InputError("vcm edge needs SOURCE, --camera and --server (or --config CAMERAS.toml)")
    check_name(args.camera)
    raw_format(args)
    client = _client(args)
    spool = Spool(args.spool, args.camera)
    config = EdgeConfig(camera=args.camera, planner=args.method,
                        settings=PlanSettings(codec=args.codec, gop=args.gop, targets=target_spec(args)),
                        restoration=not args.no_restoration,
                        restore_target=QualityTarget(reference_qp=args.restore_like_qp),
                        give_up_after=args.give_up_after, verify_every=args.verify_every,
                        privacy=PRIVACY_MODES[args.privacy])
    opened: list[object] = []

    def source_from(start: int) -> FrameSource:
        limit = None if args.frames is None else args.frames - start
        if limit is not None and limit < 1:
            raise NoFrames(f"{args.source} holds no frames beyond the {args.frames} asked for")
        source = open_source(args, "source", start, limit)
        opened.append(source)
        return source

    def stop() -> None:
        for source in opened:
            source.stop()  # type: ignore[attr-defined]

    detector = load_detector(args.detector)
    with progress_bar() as progress, stop_on_signal(stop) as received:
        summary = run_agent(args.source, source_from, client, spool, config, detector,
                            log=lambda line: console.print(f"[{args.camera}] {line}"),
                            progress=task_reporter(progress))
    summary.stopped_early = bool(received)
    client.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        console.print(f"camera {args.camera}: {summary.segments_coded} segments coded "
                      f"({summary.frames} frames, "
                      f"{summary.frames / max(summary.seconds, 1e-9):.1f} frames/s), "
                      f"{summary.uploads.acknowledged} acknowledged, machine {summary.machine_bytes} B, "
                      f"restoration {summary.restoration_bytes} B, {summary.detections} detections")
    if summary.uploads.rejected:
        raise InputError(f"the service refused {summary.uploads.rejected} segments; they are in "
                         f"{spool.rejected}")


def run_fleet(path: Path) -> None:
    """Every camera of the configuration at `path` until their files end or a signal arrives;
    InputError (exit 1) naming each camera that failed for good."""
    from vcm.edge.fleet import Fleet, FleetConfig
    from vcm.models import load_detector

    config = FleetConfig.load(path)
    fleet = Fleet(config, load_detector, log=lambda camera, line: console.print(f"[{camera}] {line}"))
    with stop_on_signal(fleet.stop):
        outcomes = fleet.run()
    failed = {camera: outcome for camera, outcome in outcomes.items() if outcome not in ("done", "stopped")}
    if failed:
        raise InputError("; ".join(f"camera {camera}: {reason}" for camera, reason in sorted(failed.items())))


def run_restore(args: argparse.Namespace) -> None:
    from vcm.api.restore import restore_video

    check_output(args.output)
    if args.output.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        raise InputError(f"-o must be an .mp4, .mov or .mkv file, got {args.output}")
    start, end = parse_time(args.start), parse_time(args.end)
    with _client(args) as client, progress_bar() as progress:
        summary = restore_video(client, args.camera, args.output, start=start, end=end,
                                machine_only=args.machine, codec=args.codec, progress=task_reporter(progress))
    what = ("machine stream" if summary.machine_only else
            f"{summary.restored} of {summary.segments} segments restored to human-viewing quality")
    console.print(f"{args.output}: {summary.segments} segments, {what}")


def run_search(args: argparse.Namespace) -> None:
    with _client(args) as client:
        hits = client.search(args.class_name, args.camera, parse_time(args.start), parse_time(args.end),
                             args.min_score, args.source)
    if args.json:
        print(json.dumps(hits, indent=2))
        return
    table = Table(title=f"{args.class_name}: {len({(hit['camera'], hit['seq']) for hit in hits})} segments")
    for column in ("camera", "segment", "found by", "first", "last", "detections", "best score"):
        table.add_column(column)
    for hit in hits:
        table.add_row(hit["camera"], str(hit["seq"]), hit["source"], iso_time(hit["first"]),
                      iso_time(hit["last"]), str(hit["count"]), f"{hit['best_score']:.2f}")
    console.print(table)


def run_reanalyse(args: argparse.Namespace) -> None:
    from vcm.api.contract import MACHINE, check_source
    from vcm.api.reanalyse import SegmentJob, analyse_segment
    from vcm.atomic import write_text_atomic
    from vcm.batch import run_batch

    check_output(args.output)
    if not 0 < args.min_score <= 1:
        raise InputError(f"--min-score must be in (0, 1], got {args.min_score}")
    if args.store is not None:
        check_source(args.store)
    with _client(args) as client:
        listing = [item for item in client.segments(args.camera, parse_time(args.start), parse_time(args.end))
                   if MACHINE in item["layers"]]
    if not listing:
        raise InputError(f"camera {args.camera} has no stored segments in the chosen range")
    jobs = [SegmentJob(args.server, args.token, args.camera, item["seq"], item["start"], item["fps"],
                       args.every, args.min_score, args.detector) for item in listing]
    with progress_bar() as progress:
        results = run_batch(analyse_segment, jobs, ray_address=args.ray, label=f"reanalyse {args.camera}",
                            progress=task_reporter(progress))
    write_text_atomic(args.output, json.dumps({"camera": args.camera, "detector": args.detector,
                                               "segments": results}, indent=2))
    if args.store is not None:
        with _client(args) as client:
            stored = sum(client.put_analysis(args.camera, result["seq"], args.store, result["detections"])
                         for result in results)
        console.print(f"stored {stored} detections as analysis {args.store} of {args.camera}")
    totals: dict[str, int] = {}
    for result in results:
        for name, count in result["counts"].items():
            totals[name] = totals.get(name, 0) + count
    found = ", ".join(f"{name} {count}" for name, count in sorted(totals.items(), key=lambda kv: -kv[1]))
    console.print(f"{args.output}: {len(results)} segments re-analysed; {found or 'nothing found'}")
