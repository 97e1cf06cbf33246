"""Running the service: uvicorn on the app, with the tiering and retention policies in the
background."""

import logging
import threading

import uvicorn

from vcm.cloud.maintenance import move_to_cold
from vcm.cloud.retention import RetentionPolicy, prune
from vcm.cloud.system import System
from vcm.errors import VcmError
from vcm.server.app import build_app
from vcm.server.timeouts import headers_within

log = logging.getLogger("vcm.server")
POLICY_PERIOD_S = 3600.0


def _maintain(system: System, archive_after: float | None, retention: RetentionPolicy | None,
              stop: threading.Event) -> None:
    """Apply the tiering and retention policies now and then every POLICY_PERIOD_S until `stop`."""
    while True:
        try:
            if archive_after is not None:
                moved = move_to_cold(system, archive_after)
                if moved:
                    log.info("moved %d machine layers older than %g days to the cold tier", len(moved),
                             archive_after)
            if retention is not None:
                deleted = prune(system, retention)
                if deleted:
                    log.info("retention deleted %d segments (%d bytes)", len(deleted),
                             sum(segment.bytes for segment in deleted))
        except VcmError as error:  # a full disk, a lost store: said, and tried again next period
            log.error("maintenance: %s", error)
        if stop.wait(POLICY_PERIOD_S):
            return


def serve(system: System, host: str, port: int, *, max_upload: int, archive_after: float | None,
          retention: RetentionPolicy | None, request_timeout: float) -> None:
    """Serve until interrupted; request_timeout: seconds a client may take to send its request
    headers, or between two pieces of a body."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    if archive_after is not None or retention is not None:
        threading.Thread(target=_maintain, args=(system, archive_after, retention, stop), daemon=True).start()
    try:
        uvicorn.run(build_app(system, max_upload=max_upload, request_timeout=request_timeout), host=host,
                    port=port, log_level="info", timeout_graceful_shutdown=10,
                    http=headers_within(request_timeout))
    finally:
        stop.set()
        system.close()
