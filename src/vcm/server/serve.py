"""Running the service: uvicorn on the app, with the tiering policy in the background."""

import logging
import threading

import uvicorn

from vcm.cloud.maintenance import move_to_cold
from vcm.cloud.system import System
from vcm.server.app import build_app
from vcm.server.timeouts import headers_within

log = logging.getLogger("vcm.server")
POLICY_PERIOD_S = 3600.0


def _tiering(system: System, days: float, stop: threading.Event) -> None:
    """Apply the tiering policy now and then every POLICY_PERIOD_S until `stop`."""
    while True:
        moved = move_to_cold(system, days)
        if moved:
            log.info("moved %d machine layers older than %g days to the cold tier", len(moved), days)
        if stop.wait(POLICY_PERIOD_S):
            return


def serve(system: System, host: str, port: int, *, max_upload: int, archive_after: float | None,
          request_timeout: float) -> None:
    """Serve until interrupted; request_timeout: seconds a client may take to send its request
    headers, or between two pieces of a body."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    if archive_after is not None:
        threading.Thread(target=_tiering, args=(system, archive_after, stop), daemon=True).start()
    try:
        uvicorn.run(build_app(system, max_upload=max_upload, request_timeout=request_timeout), host=host,
                    port=port, log_level="info", timeout_graceful_shutdown=10,
                    http=headers_within(request_timeout))
    finally:
        stop.set()
        system.close()
