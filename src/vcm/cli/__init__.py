"""The `vcm` command: a thin layer over the library API, one module per command group."""

from vcm.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
