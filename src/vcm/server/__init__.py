"""The ingest service and web viewer: `vcm serve`."""

from vcm.server.app import build_app

__all__ = ["build_app"]
