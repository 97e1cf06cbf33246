"""The system's commands: `vcm token`, `serve`, `edge`, `restore`, `search`, `storage`."""

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from vcm.atomic import check_output
from vcm.cli_options import add_detector_option
from vcm.errors import InputError
from vcm.interrupt import stop_on_signal
from vcm.progress import console, progress_bar, task_reporter

TOKEN_ENV = "VCM_TOKEN"
MAX_UPLOAD_MB = 64


def _time(text: str | None) -> float | None:
    """Epoch seconds from a number or an ISO 8601 time (UTC unless it names a zone)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"bad time {text!r}: give epoch seconds or ISO 8601 (2026-11-23T10:00:00)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _iso(seconds: float | None) -> str:
    return "-" if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _add_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"bearer token (default: ${TOKEN_ENV})")


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="the service's data folder")
    parser.add_argument("--catalog", help="catalog URL: sqlite:///PATH (default DATA/catalog.sqlite) or "
                        "postgresql+psycopg://USER@HOST/DB; recorded in DATA/system.json")
    parser.add_argument("--storage", help="storage: a folder (default DATA, tiers DATA/hot and DATA/cold) or "
                        "s3://BUCKET[/PREFIX][?endpoint=URL]; recorded in DATA/system.json")


def add_system_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    token = commands.add_parser("token", help="create access tokens for cameras and readers")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="print a new token for NAME")
    create.add_argument("name", help="the camera (role camera) or the reader's name")
    create.add_argument("--role", choices=["camera", "reader"], default="camera",
                        help="camera: uploads for camera NAME; reader: restores, searches, views (camera)")
    _add_data(create)
    revoke = token_commands.add_parser("revoke", help="delete every token of NAME (takes effect at once)")
    revoke.add_argument("name")
    _add_data(revoke)

    serve = commands.add_parser("serve", help="run the ingest service and web viewer",
                                description="Serve the HTTP API and the viewer (http://HOST:PORT/).")
    _add_data(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB,
                       help=f"largest accepted upload in MiB ({MAX_UPLOAD_MB})")
    serve.add_argument("--archive-after", type=float, metavar="DAYS",
                       help="tiering policy: move machine layers older than DAYS to the cold tier (hourly)")

    edge = commands.add_parser("edge", help="run a camera agent: code, spool and upload segments",
                               description="Read SOURCE, code GOP-long segments for machines with their "
                               "restoration layer, and upload them; exits 0 once all are acknowledged.")
    edge.add_argument("source", help="a video file, '-' (standard input), a named pipe or a live URL")
    _add_server(edge)
    edge.add_argument("--camera", required=True, help="this camera's name")
    edge.add_argument("--spool", type=Path, default=Path("spool"), help="local spool folder (./spool)")
    edge.add_argument("--method", default="fast", help="planner (fast)")
    edge.add_argument("--codec", choices=["hevc", "h264"], default="hevc")
    edge.add_argument("--gop", type=int, default=32, help="frames per segment (32)")
    edge.add_argument("--no-restoration", action="store_true", help="send the machine stream only")
    edge.add_argument("--give-up-after", type=float, metavar="SECONDS",
                      help="stop when uploads fail for this long (default: retry for ever)")
    edge.add_argument("--size", help="WxH of a raw YUV 4:2:0 input")
    edge.add_argument("--fps", help="frame rate of a raw YUV input")
    edge.add_argument("--frames", type=int, help="use only the first N frames")
    edge.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    add_detector_option(edge)

    restore = commands.add_parser("restore", help="get a camera's video back from the service")
    _add_server(restore)
    restore.add_argument("--camera", required=True)
    restore.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    restore.add_argument("--from", dest="start", help="start (epoch seconds or ISO 8601, UTC)")
    restore.add_argument("--to", dest="end", help="end (epoch seconds or ISO 8601, UTC)")
    restore.add_argument("--machine", action="store_true",
                         help="the machine stream only (hot tier, no re-coding)")
    restore.add_argument("--codec", choices=["h264", "hevc"], default="h264",
                         help="codec of the restored video (h264, plays in browsers)")

    search = commands.add_parser("search", help="find segments by detected class")
    _add_server(search)
    search.add_argument("--class", dest="class_name", required=True, help="COCO class name, e.g. person")
    search.add_argument("--camera")
    search.add_argument("--from", dest="start")
    search.add_argument("--to", dest="end")
    search.add_argument("--min-score", type=float)
    search.add_argument("--json", action="store_true", help="print JSON")

    reanalyse = commands.add_parser("reanalyse", help="run the detector again over stored machine streams",
                                    description="Detect objects in a camera's stored machine streams, one "
                                    "task per segment, on Ray with --ray; writes JSON.")
    _add_server(reanalyse)
    reanalyse.add_argument("--camera", required=True)
    reanalyse.add_argument("--from", dest="start")
    reanalyse.add_argument("--to", dest="end")
    reanalyse.add_argument("--every", type=int, default=1, help="analyse every N-th frame (1)")
    reanalyse.add_argument("--min-score", type=float, default=0.5, help="lowest score kept (0.5)")
    reanalyse.add_argument("--ray", metavar="ADDRESS",
                           help="run on Ray: local, auto (join this machine's cluster, else local) "
                           "or HOST:PORT")
    reanalyse.add_argument("-o", "--output", type=Path, required=True,
                           help="JSON file of per-segment results")
    add_detector_option(reanalyse)

    storage = commands.add_parser("storage", help="report, check and tier the stored data")
    storage_commands = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    report = storage_commands.add_parser("report", help="bytes per tier and camera")
    _add_data(report)
    report.add_argument("--json", action="store_true")
    check = storage_commands.add_parser("check", help="verify every object's hash; list missing, "
                                        "corrupt and orphaned objects (exit 1 if any)")
    _add_data(check)
    check.add_argument("--json", action="store_true")
    move = storage_commands.add_parser("move", help="apply the tiering policy now")
    _add_data(move)
    move.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                      help="move machine layers stored more than DAYS ago to the cold tier")


def _open(args: argparse.Namespace):
    from vcm.cloud.system import open_system

    return open_system(args.data, args.catalog, args.storage)


def cmd_token(args: argparse.Namespace) -> None:
    system = _open(args)
    try:
        if args.token_command == "create":
            print(system.catalog.create_token(args.name, args.role))
            return
        count = system.catalog.revoke_tokens(args.name)
        if not count:
            raise InputError(f"no token belongs to {args.name!r}")
        print(f"revoked {count} token{'s' if count > 1 else ''} of {args.name}")
    finally:
        system.close()


def cmd_serve(args: argparse.Namespace) -> None:
    from vcm.server.serve import serve

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {args.port}")
    if args.max_upload_mb <= 0:
        raise InputError("--max-upload-mb must be positive")
    if args.archive_after is not None and args.archive_after <= 0:
        raise InputError("--archive-after must be a positive number of days")
    serve(_open(args), args.host, args.port, max_upload=int(args.max_upload_mb * (1 << 20)),
          archive_after=args.archive_after)


def _client(args: argparse.Namespace):
    from vcm.client import Client

    return Client(args.server, args.token or "")


def cmd_edge(args: argparse.Namespace) -> None:
    from vcm.cloud.catalog import check_name
    from vcm.edge import EdgeConfig, Spool, run_agent
    from vcm.media.source import FrameSource, NoFrames, parse_fps, parse_size
    from vcm.models import load_detector
    from vcm.planners import PLANNERS, PlanSettings

    check_name(args.camera)
    if args.method not in PLANNERS:
        raise InputError(f"unknown planner {args.method!r}; choose from {', '.join(PLANNERS)}")
    if args.gop < 1:
        raise InputError(f"--gop must be at least 1, got {args.gop}")
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    size = parse_size(args.size) if args.size else None
    fps = parse_fps(args.fps) if args.fps else None
    client = _client(args)
    spool = Spool(args.spool, args.camera)
    config = EdgeConfig(camera=args.camera, planner=args.method,
                        settings=PlanSettings(codec=args.codec, gop=args.gop),
                        restoration=not args.no_restoration,
                        give_up_after=args.give_up_after)
    opened: list[object] = []

    def open_source(start: int) -> FrameSource:
        limit = None if args.frames is None else args.frames - start
        if limit is not None and limit < 1:
            raise NoFrames(f"{args.source} holds no frames beyond the {args.frames} asked for")
        source = FrameSource(args.source, size=size, fps=fps, start=start, max_frames=limit)
        opened.append(source)
        return source

    def stop() -> None:
        for source in opened:
            source.stop()  # type: ignore[attr-defined]

    detector = load_detector(args.detector)
    with progress_bar() as progress, stop_on_signal(stop) as received:
        summary = run_agent(args.source, open_source, client, spool, config, detector,
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


def cmd_restore(args: argparse.Namespace) -> None:
    from vcm.restore import restore_video

    check_output(args.output)
    if args.output.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        raise InputError(f"-o must be an .mp4, .mov or .mkv file, got {args.output}")
    start, end = _time(args.start), _time(args.end)
    with _client(args) as client, progress_bar() as progress:
        summary = restore_video(client, args.camera, args.output, start=start, end=end,
                                machine_only=args.machine, codec=args.codec, progress=task_reporter(progress))
    what = ("machine stream" if summary.machine_only else
            f"{summary.restored} of {summary.segments} segments restored to human-viewing quality")
    console.print(f"{args.output}: {summary.segments} segments, {what}")


def cmd_search(args: argparse.Namespace) -> None:
    with _client(args) as client:
        hits = client.search(args.class_name, args.camera, _time(args.start), _time(args.end), args.min_score)
    if args.json:
        print(json.dumps(hits, indent=2))
        return
    table = Table(title=f"{args.class_name}: {len(hits)} segments")
    for column in ("camera", "segment", "first", "last", "detections", "best score"):
        table.add_column(column)
    for hit in hits:
        table.add_row(hit["camera"], str(hit["seq"]), _iso(hit["first"]), _iso(hit["last"]),
                      str(hit["count"]), f"{hit['best_score']:.2f}")
    console.print(table)


def cmd_reanalyse(args: argparse.Namespace) -> None:
    from vcm.atomic import write_text_atomic
    from vcm.reanalyse import SegmentJob, analyse_segment
    from vcm.scale import run_batch

    check_output(args.output)
    if args.every < 1 or not 0 < args.min_score <= 1:
        raise InputError("--every must be at least 1 and --min-score in (0, 1]")
    with _client(args) as client:
        listing = [item for item in client.segments(args.camera, _time(args.start), _time(args.end))
                   if "machine" in item["layers"]]
    if not listing:
        raise InputError(f"camera {args.camera} has no stored segments in the chosen range")
    jobs = [SegmentJob(args.server, args.token, args.camera, item["seq"], item["start"], item["fps"],
                       args.every, args.min_score, args.detector) for item in listing]
    with progress_bar() as progress:
        results = run_batch(analyse_segment, jobs, ray_address=args.ray, label=f"reanalyse {args.camera}",
                            progress=task_reporter(progress))
    write_text_atomic(args.output, json.dumps({"camera": args.camera, "detector": args.detector,
                                               "segments": results}, indent=2))
    totals: dict[str, int] = {}
    for result in results:
        for name, count in result["counts"].items():
            totals[name] = totals.get(name, 0) + count
    found = ", ".join(f"{name} {count}" for name, count in sorted(totals.items(), key=lambda kv: -kv[1]))
    console.print(f"{args.output}: {len(results)} segments re-analysed; {found or 'nothing found'}")


def cmd_storage(args: argparse.Namespace) -> None:
    from vcm.cloud.maintenance import check, move_to_cold, report

    system = _open(args)
    try:
        if args.storage_command == "report":
            rows = report(system)
            if args.json:
                print(json.dumps(rows, indent=2))
                return
            table = Table(title=f"storage of {args.data}")
            for column in ("camera", "segments", "frames", "hot bytes", "cold bytes", "first", "last"):
                table.add_column(column)
            for row in rows:
                table.add_row(str(row["camera"]), str(row["segments"]), str(row["frames"]),
                              str(row["hot_bytes"]), str(row["cold_bytes"]),
                              _iso(row["first"]), _iso(row["last"]))  # type: ignore[arg-type]
            console.print(table)
        elif args.storage_command == "check":
            with progress_bar() as progress:
                result = check(system, task_reporter(progress))
            if args.json:
                print(json.dumps(result.to_dict(), indent=2))
            else:
                for kind in ("missing", "corrupt", "orphans"):
                    for where in getattr(result, kind):
                        print(f"{kind}: {where}")
                print(f"checked {result.checked} objects: "
                      + ("all present and intact, no orphans" if result.ok else "problems found"))
            if not result.ok:
                sys.exit(1)
        else:
            if args.older_than < 0:
                raise InputError("--older-than must be at least 0 days")
            moved = move_to_cold(system, args.older_than)
            print(f"moved {len(moved)} machine layers ({sum(m.bytes for m in moved)} bytes) to the cold tier")
    finally:
        system.close()


SYSTEM_COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "token": cmd_token, "serve": cmd_serve, "edge": cmd_edge, "restore": cmd_restore, "search": cmd_search,
    "reanalyse": cmd_reanalyse, "storage": cmd_storage}
