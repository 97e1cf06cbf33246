"""The service's commands: `vcm token`, `vcm serve` and `vcm storage`."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from vcm.api.contract import check_name
from vcm.cli.options import Subcommands, add_data_options, at_least, iso_time, number_in
from vcm.errors import InputError
from vcm.progress import console, progress_bar, task_reporter

MAX_UPLOAD_MB = 64
REQUEST_TIMEOUT_S = 30.0


def add_parser(commands: Subcommands) -> None:
    token = commands.add_parser(
        "token", help="create, list, rotate and revoke access tokens for cameras and readers",
        description="Tokens are kept in the catalog as SHA-256 hashes: `create` and `rotate` print a new "
        "one once; `list` shows names, roles and expiry (never a token); `revoke` deletes every token of "
        "a name and role at once. Camera and reader names are separate.")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser(
        "create", help="print a new token for NAME",
        description="Print a new token: a camera token uploads and lists only camera NAME; a reader "
        "token restores, searches, views and deletes every camera.")
    rotate = token_commands.add_parser(
        "rotate", help="print a new token for NAME; the earlier ones expire after --grace-hours",
        description="Print a new token for NAME and ROLE and let its earlier tokens expire after "
        "--grace-hours (0: at once), time to put the new one in place.")
    for action in (create, rotate):
        action.add_argument("name", help="the camera (role camera) or the reader's name")
        action.add_argument("--role", choices=["camera", "reader"], default="camera",
                            help="camera: uploads for camera NAME; reader: restores, searches, views "
                            "(camera)")
        action.add_argument("--expires-in", type=number_in(0.0001, 36500), metavar="DAYS",
                            help="the new token is refused after DAYS (default: never)")
        add_data_options(action)
    rotate.add_argument("--grace-hours", type=number_in(0, 8760), default=24.0, metavar="H",
                        help="the earlier tokens keep working this long (24)")
    listing = token_commands.add_parser("list", help="names, roles, creation and expiry of the tokens",
                                        description="List the tokens: name, role, created, expires.")
    add_data_options(listing)
    listing.add_argument("--json", action="store_true")
    revoke = token_commands.add_parser(
        "revoke", help="delete every token of NAME (takes effect at once)",
        description="Delete every token of NAME and ROLE; requests with them are refused from then on.")
    revoke.add_argument("name")
    revoke.add_argument("--role", choices=["camera", "reader"],
                        help="which NAME (needed when a camera and a reader share it)")
    add_data_options(revoke)
    for action in (create, rotate, listing, revoke):
        action.set_defaults(run=run_token)

    serve = commands.add_parser("serve", help="run the ingest service and web viewer",
                                description="Serve the HTTP API and the viewer (http://HOST:PORT/).")
    add_data_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--max-upload-mb", type=number_in(0.001, 1 << 20), default=MAX_UPLOAD_MB,
                       help=f"largest accepted upload in MiB ({MAX_UPLOAD_MB})")
    serve.add_argument("--archive-after", type=number_in(0.0001, 36500), metavar="DAYS",
                       help="tiering policy: move machine layers older than DAYS to the cold tier (hourly)")
    serve.add_argument("--request-timeout", type=number_in(0.1, 3600), default=REQUEST_TIMEOUT_S, metavar="S",
                       help="seconds a client may take to send its request headers, or between two pieces of "
                       f"a body, before the connection is closed or answered 408 ({REQUEST_TIMEOUT_S:g})")
    add_retention_option(serve, "apply it hourly")
    serve.set_defaults(run=run_serve)

    storage = commands.add_parser(
        "storage", help="report, check and tier the stored data",
        description="Maintenance of a service's data folder: bytes per tier and camera (report), every "
        "object read back and hashed (check), the tiering policy applied now (move).")
    storage_commands = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    report = storage_commands.add_parser(
        "report", help="bytes per tier and camera",
        description="Per camera: segments, frames, bytes on the hot and cold tiers, first and last time.")
    add_data_options(report)
    report.add_argument("--json", action="store_true")
    add_retention_option(report, "also list what each of its rules would delete now")
    check = storage_commands.add_parser(
        "check", help="verify every object's hash; list missing, corrupt and orphaned objects",
        description="Read back every stored object and compare its SHA-256 with the catalog's; list "
        "missing, corrupt and orphaned objects and exit 1 if there is any.")
    add_data_options(check)
    check.add_argument("--json", action="store_true")
    move = storage_commands.add_parser(
        "move", help="apply the tiering policy now",
        description="Move machine layers stored more than --older-than days ago to the cold tier.")
    add_data_options(move)
    move.add_argument("--older-than", type=number_in(0, 36500), required=True, metavar="DAYS",
                      help="move machine layers stored more than DAYS ago to the cold tier")
    delete = storage_commands.add_parser(
        "delete", help="delete one segment or a whole camera",
        description="Delete a segment (--seq) or every segment of a camera: catalog rows first, then the "
        "stored objects and cached renditions.")
    add_data_options(delete)
    delete.add_argument("--camera", required=True, help="camera name")
    delete.add_argument("--seq", type=at_least(0),
                        help="segment number (default: every segment of the camera)")
    prune = storage_commands.add_parser(
        "prune", help="apply a retention policy now",
        description="Delete the segments a retention policy (TOML: keep_days, [cameras], [classes], "
        "[budget]; see docs/system.md) no longer keeps: expired ones, then per tier over budget those due "
        "to expire first. A kill -9 leaves nothing half-deleted; the next prune or check finishes it.")
    add_data_options(prune)
    prune.add_argument("--retention", type=Path, required=True, metavar="POLICY.toml", help="the policy")
    prune.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    prune.add_argument("--json", action="store_true")
    for action in (report, check, move, delete, prune):
        action.set_defaults(run=run_storage)


def add_retention_option(parser: argparse.ArgumentParser, role: str) -> None:
    parser.add_argument("--retention", type=Path, metavar="POLICY.toml",
                        help=f"a retention policy (keep_days, [cameras], [classes], [budget]): {role}")


def load_retention(args: argparse.Namespace) -> Any:
    """The --retention policy, checked before any work (None when not given)."""
    from vcm.cloud.retention import RetentionPolicy

    return RetentionPolicy.load(args.retention) if getattr(args, "retention", None) is not None else None


def _print_doomed(doomed: list[Any], verb: str) -> None:
    """Per rule: how many segments and bytes, and the first of them."""
    by_rule: dict[str, list[Any]] = {}
    for segment in doomed:
        by_rule.setdefault(segment.rule, []).append(segment)
    for rule, segments in by_rule.items():
        first = min(segments, key=lambda segment: segment.start)
        print(f"{rule}: {verb} {len(segments)} segments ({sum(s.bytes for s in segments)} bytes), "
              f"from {first.camera} {first.seq} at {iso_time(first.start)}")
    if not doomed:
        print(f"retention: nothing to delete ({verb})")


def _open(args: argparse.Namespace) -> Any:
    from vcm.cloud.system import open_system

    return open_system(args.data, args.catalog, args.storage)


def run_token(args: argparse.Namespace) -> None:
    import time

    system = _open(args)
    catalog = system.catalog
    try:
        expires = getattr(args, "expires_in", None)
        expires = None if expires is None else time.time() + expires * 86400.0
        if args.token_command == "create":
            print(catalog.create_token(args.name, args.role, expires))
        elif args.token_command == "rotate":
            print(catalog.rotate_token(args.name, args.role, args.grace_hours * 3600.0, expires))
        elif args.token_command == "list":
            rows = catalog.tokens()
            if args.json:
                print(json.dumps(rows, indent=2))
                return
            for row in rows:
                print(f"{row['name']}\t{row['role']}\tcreated {iso_time(row['created'])}\t"
                      f"expires {iso_time(row['expires']) if row['expires'] is not None else 'never'}")
        else:
            roles = [args.role] if args.role else sorted({row["role"] for row in catalog.tokens(args.name)})
            if len(roles) > 1:
                raise InputError(f"{args.name!r} is both a camera and a reader; give --role camera or "
                                 "--role reader")
            count = catalog.revoke_tokens(args.name, roles[0]) if roles else 0
            if not count:
                role = f" as a {args.role}" if args.role else ""
                raise InputError(f"no token belongs to {args.name!r}{role}")
            print(f"revoked {count} {roles[0]} token{'s' if count > 1 else ''} of {args.name}")
    finally:
        system.close()


def run_serve(args: argparse.Namespace) -> None:
    from vcm.server.serve import serve

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {args.port}")
    retention = load_retention(args)
    serve(_open(args), args.host, args.port, max_upload=int(args.max_upload_mb * (1 << 20)),
          archive_after=args.archive_after, retention=retention, request_timeout=args.request_timeout)


def run_storage(args: argparse.Namespace) -> None:
    from vcm.cloud.maintenance import check, delete_segments, move_to_cold, report
    from vcm.cloud.retention import plan, prune

    policy = load_retention(args)
    system = _open(args)
    try:
        if args.storage_command == "report":
            rows = report(system)
            doomed = plan(system, policy) if policy is not None else []
            if args.json:
                print(json.dumps({"cameras": rows, "retention": [d.to_dict() for d in doomed]}
                                 if policy is not None else rows, indent=2))
                return
            table = Table(title=f"storage of {args.data}")
            for column in ("camera", "segments", "frames", "hot bytes", "cold bytes", "first", "last"):
                table.add_column(column)
            for row in rows:
                table.add_row(str(row["camera"]), str(row["segments"]), str(row["frames"]),
                              str(row["hot_bytes"]), str(row["cold_bytes"]),
                              iso_time(row["first"]), iso_time(row["last"]))  # type: ignore[arg-type]
            console.print(table)
            if policy is not None:
                _print_doomed(doomed, "the retention policy would delete now")
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
        elif args.storage_command == "delete":
            check_name(args.camera)
            removed = delete_segments(system, args.camera, args.seq)
            what = f"segment {args.seq} of {args.camera}" if args.seq is not None else f"camera {args.camera}"
            if not removed:
                raise InputError(f"nothing stored for {what}")
            print(f"deleted {what}: {len(removed)} objects ({sum(item.bytes for item in removed)} bytes)")
        elif args.storage_command == "prune":
            if args.dry_run:
                doomed = plan(system, policy)
            else:
                with progress_bar() as progress:
                    doomed = prune(system, policy, progress=task_reporter(progress))
            if args.json:
                print(json.dumps([d.to_dict() for d in doomed], indent=2))
            else:
                _print_doomed(doomed, "would delete" if args.dry_run else "deleted")
        else:
            moved = move_to_cold(system, args.older_than)
            print(f"moved {len(moved)} machine layers ({sum(m.bytes for m in moved)} bytes) to the cold tier")
    finally:
        system.close()
