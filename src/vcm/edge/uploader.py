"""Sending spooled segments: in order, each part until the service acknowledges it, with
exponential backoff while the service is unreachable or failing; a segment is deleted from
the spool only once every part is acknowledged. A refused token (401/403) stops the uploads
with every segment still queued: the fault is the camera's configuration, not the footage."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vcm.api.client import Client, ServerError
from vcm.api.contract import DETECTIONS, MACHINE
from vcm.edge.spool import Spool, SpooledSegment
from vcm.errors import VcmError

TOKEN_REFUSED = (401, 403)  # the service refuses the camera's token, not a segment
BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 8.0
IDLE_POLL_S = 0.1


@dataclass
class UploadCounts:
    """What the uploader did: segments acknowledged, refused for good, retries, bytes sent."""

    acknowledged: int = 0
    rejected: int = 0
    retries: int = 0
    bytes: int = 0


class TokenRefused(VcmError):
    """The service answered 401/403: no upload can succeed until the token is fixed."""


class Uploader(threading.Thread):
    """Drains `spool` to the service in the background. `finish()` asks it to stop once the
    spool is empty; `give_up_after` (seconds without progress) bounds the retrying."""

    def __init__(self, client: Client, camera: str, spool: Spool, *, log: Callable[[str], None],
                 on_ack: Callable[[SpooledSegment, dict[str, int], int], None] | None = None,
                 give_up_after: float | None = None) -> None:
        super().__init__(name=f"uploader-{camera}", daemon=True)
        self.client, self.camera, self.spool, self.log = client, camera, spool, log
        self.on_ack, self.give_up_after = on_ack, give_up_after
        self.counts = UploadCounts()
        self.error: BaseException | None = None
        self._finishing = threading.Event()
        self._abort = threading.Event()

    def finish(self) -> None:
        self._finishing.set()

    def abort(self) -> None:
        self._abort.set()

    def run(self) -> None:
        try:
            while not self._abort.is_set():
                pending = self.spool.pending()
                if not pending:
                    if self._finishing.is_set():
                        return
                    time.sleep(IDLE_POLL_S)
                    continue
                for segment in pending:
                    if self._abort.is_set():
                        return
                    self._send(segment)
        except BaseException as error:  # surfaced to the agent's thread
            self.error = error

    def _send(self, segment: SpooledSegment) -> None:
        sizes: dict[str, int] = {}
        detections = 0
        for part in segment.parts():
            data = segment.part(part).read_bytes()
            sizes[part] = len(data)
            if part == DETECTIONS:
                detections = len(json.loads(data))
            if part in segment.sent:
                continue
            try:
                self._retrying(lambda part=part, data=data: self._put(segment, part, data))
            except ServerError as error:
                if error.status in TOKEN_REFUSED:
                    raise TokenRefused(f"the service refuses this camera's token ({error})") from None
                target = self.spool.reject(segment, str(error))
                self.counts.rejected += 1
                self.log(f"segment {segment.seq}: refused ({error}); kept in {target}")
                return
            if self._abort.is_set():
                return
            self.spool.mark_sent(segment, part)
            self.counts.bytes += len(data)
        self.spool.remove(segment)
        self.counts.acknowledged += 1
        if self.on_ack is not None:
            self.on_ack(segment, sizes, detections)

    def _put(self, segment: SpooledSegment, part: str, data: bytes) -> None:
        if part == DETECTIONS:
            self.client.put_detections(self.camera, segment.seq, json.loads(data))
        else:
            machine = part == MACHINE
            self.client.put_layer(self.camera, segment.seq, part, data,
                                  start=segment.start if machine else None,
                                  frames=segment.frames if machine else None,
                                  fps=segment.fps if machine else None)

    def _retrying(self, action: Callable[[], None]) -> None:
        """Run `action` until it succeeds; retryable failures wait with backoff, others raise."""
        delay, since = BACKOFF_START_S, time.monotonic()
        while True:
            try:
                action()
                return
            except ServerError as error:
                if not error.retryable:
                    raise
                if self.give_up_after is not None and time.monotonic() - since > self.give_up_after:
                    raise TimeoutError(f"gave up after {self.give_up_after:g} s: {error}") from None
                self.counts.retries += 1
                if self.counts.retries == 1 or delay >= BACKOFF_MAX_S:
                    self.log(f"retrying in {delay:.1f} s: {error}")
                if self._abort.wait(delay):
                    return
                delay = min(delay * 2, BACKOFF_MAX_S)
