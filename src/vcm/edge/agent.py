"""The agent loop: read -> segment -> code (machine stream + restoration layer) -> spool,
while the uploader sends the spool. Resumes where it stopped: a file source skips the
frames already spooled, segment numbers continue, and unsent segments are sent first."""

import io
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from vcm.api.client import Client, ServerError
from vcm.api.contract import DETECTIONS, MACHINE, RESTORATION, DetectionRecord
from vcm.codec.rates import bitrate_kbps
from vcm.edge.spool import Spool, SpooledSegment, SpoolState
from vcm.edge.uploader import TOKEN_REFUSED, TokenRefused, UploadCounts, Uploader
from vcm.errors import VcmError
from vcm.media import windows
from vcm.media.source import FrameSource, NoFrames, is_live
from vcm.models.detector import Detector
from vcm.pipeline import Verification, run_method
from vcm.pipeline.report import FrameReport
from vcm.planners import PlanSettings
from vcm.privacy.mode import FaceConcealer, PrivacyConfig
from vcm.progress import ProgressCallback
from vcm.restoration.target import LayerCoder, QualityTarget


@dataclass
class EdgeConfig:
    """How a camera codes: planner and its settings (gop = segment length in frames);
    restoration: also code each segment's restoration layer; restore_target: the quality
    each layer is coded to (vcm.restoration.target; None: the method's fixed default
    quality, not checked); give_up_after: seconds of
    failed uploads before the agent stops (None: retry for ever, as a camera should);
    verify_every: decode and check every n-th frame of the machine stream as it is coded,
    which steers the fast planner's closed loop (0, the default: no check, open loop; every
    2nd frame took the agent below real time on the sample on 2 cores); privacy: conceal
    faces before anything is coded (None: off), so that neither the machine stream nor the
    restoration layer holds the real faces."""

    camera: str
    planner: str = "fast"
    settings: PlanSettings = field(default_factory=PlanSettings)
    restoration: bool = True
    restore_target: QualityTarget | None = field(default_factory=QualityTarget)
    give_up_after: float | None = None
    verify_every: int = 0
    privacy: PrivacyConfig | None = None

    def verification(self) -> Verification:
        """The check made while coding each segment."""
        return Verification(every=self.verify_every) if self.verify_every else Verification(enabled=False)


@dataclass
class AgentSummary:
    """A run of the agent: segments coded and acknowledged, frames, bytes per layer."""

    segments_coded: int = 0
    frames: int = 0
    machine_bytes: int = 0
    restoration_bytes: int = 0
    detections: int = 0
    seconds: float = 0.0
    uploads: UploadCounts = field(default_factory=UploadCounts)
    stopped_early: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"segments_coded": self.segments_coded, "frames": self.frames,
                "machine_bytes": self.machine_bytes, "restoration_bytes": self.restoration_bytes,
                "detections": self.detections, "seconds": round(self.seconds, 3),
                "fps": round(self.frames / self.seconds, 2) if self.seconds else None,
                "acknowledged": self.uploads.acknowledged, "rejected": self.uploads.rejected,
                "retries": self.uploads.retries, "bytes_sent": self.uploads.bytes,
                "stopped_early": self.stopped_early}


class SegmentCoder:
    """Codes one segment of frames into its parts: machine (MP4), restoration, detections."""

    def __init__(self, config: EdgeConfig, detector: Detector) -> None:
        self.config, self.detector = config, detector
        target = config.restore_target
        self.layers = None if target is None else LayerCoder(target)  # stage 2 runs one segment at a time
        self.concealer = None if config.privacy is None else FaceConcealer(config.privacy)

    def stored_frames(self, frames: np.ndarray) -> np.ndarray:
        """The (n, H, W, 3) frames of the next segment as the camera may keep them: with faces
        concealed when its privacy is on (both stages code these, never the originals)."""
        return frames if self.concealer is None else self.concealer.conceal(frames)[0]

    def machine(self, frames: np.ndarray, fps: float,
                start: float) -> tuple[bytes, list[DetectionRecord], list[FrameReport]]:
        """Stage 1: frames (n, H, W, 3) uint8 RGB, start: epoch seconds of frame 0 -> the machine
        stream, its detections, and the per-frame records (QP maps) stage 2 needs."""
        records: list[FrameReport] = []
        segment = io.BytesIO()
        run_method(self.config.planner, frames, fps, segment, self.detector, self.config.settings,
                   verify=self.config.verification(), on_frame=records.append)
        machine = segment.getvalue()
        records.sort(key=lambda record: record.index)
        task = self.config.settings.targets  # the camera's task: only its classes are reported
        found = [DetectionRecord.of(r.index, start + r.index / fps, d)
                 for r in records for d in task.of_interest(r.detections or [])]
        return machine, found, records

    def restoration(self, frames: np.ndarray, fps: float, machine: bytes, records: list[FrameReport],
                    hurry: bool = False) -> bytes | None:
        """Stage 2: the segment's restoration layer (None when the agent sends none); hurry:
        the previous layer was still being coded when this segment's machine stream was done,
        so this one is coded once at the camera's last checked quality instead of searched."""
        if not self.config.restoration:
            return None
        from vcm.api.playback import machine_frames
        from vcm.restoration import encode_layer

        machine_qp = np.stack([r.qp_map for r in records]).astype(np.int16)
        decoded = np.stack(list(machine_frames(machine)))  # what a restore will start from
        if self.layers is None:
            return encode_layer(frames, machine_qp, fps=fps, machine_decoded=decoded)
        return self.layers.encode(frames, machine_qp, decoded, fps=fps, search=not hurry).layer


def run_agent(source_name: str, open_source: Callable[[int], FrameSource], client: Client, spool: Spool,
              config: EdgeConfig, detector: Detector, *, log: Callable[[str], None],
              progress: ProgressCallback | None = None, now: Callable[[], float] = time.time) -> AgentSummary:
    """Code `source_name` (opened by `open_source(start_frame)`) into spooled segments and
    upload them; returns when every segment is acknowledged. Raises VcmError if the
    uploads failed for good."""
    summary = AgentSummary()
    started = time.perf_counter()
    state = spool.state()
    if state.source != source_name or is_live(source_name):  # a live stream cannot be re-read: go on from now
        state = SpoolState(source=source_name, frames=0, next_seq=state.next_seq, epoch=0.0)
    coder = SegmentCoder(config, detector)
    _check_token(client, config.camera)
    requeued = spool.requeue_rejected()
    if requeued:
        log(f"{requeued} segments refused on an earlier run are queued again")

    def acknowledged(segment: SpooledSegment, sizes: dict[str, int], detections: int) -> None:
        kbps = bitrate_kbps(sizes.get(MACHINE, 0), segment.frames, segment.fps)
        log(f"segment {segment.seq}: {segment.frames} frames, machine {sizes.get(MACHINE, 0)} B "
            f"({kbps:.1f} kbit/s), restoration {sizes.get(RESTORATION, 0)} B, "
            f"{detections} detections, acknowledged")

    uploader = Uploader(client, config.camera, spool, log=log, on_ack=acknowledged,
                        give_up_after=config.give_up_after)
    uploader.start()
    try:
        try:
            _code_source(open_source, spool, state, coder, summary, uploader, log, progress, now)
        except NoFrames:
            if not state.frames:  # a source without any frame, not one already coded
                raise
            log(f"every frame of {source_name} is already coded; sending what waits in the spool")
        uploader.finish()
        while uploader.is_alive():
            uploader.join(0.2)
    except BaseException:
        uploader.abort()
        raise
    summary.uploads = uploader.counts
    summary.seconds = time.perf_counter() - started
    if uploader.error is not None:
        left = len(spool.pending())
        kind = TokenRefused if isinstance(uploader.error, TokenRefused) else VcmError
        raise kind(f"uploads stopped: {uploader.error}; {left} segments wait in {spool.folder}, "
                   "run again to send them")
    return summary


def _check_token(client: Client, camera: str) -> None:
    """Fail now, before any coding, if the service refuses the token or it is not this camera's
    upload token; an unreachable or failing service is fine (segments wait in the spool)."""
    try:
        who = client.whoami()
    except ServerError as error:
        if error.status in TOKEN_REFUSED:
            raise TokenRefused(f"the service refuses the token of camera {camera}: {error}") from None
        return
    if (who.get("role"), who.get("name")) != ("camera", camera):
        raise TokenRefused(f"the service refuses the token of camera {camera}: it is the {who.get('role')} "
                           f"token of {who.get('name')!r}, not the camera token of {camera!r}")


@dataclass
class _InFlight:
    """A segment between the stages: its machine parts are made, its layer is being coded."""

    seq: int
    start: float
    first: int
    frames: int
    fps: float
    parts: dict[str, bytes]
    detections: int
    layer: Future[bytes | None]


def _code_source(open_source: Callable[[int], FrameSource], spool: Spool, state: SpoolState,
                 coder: SegmentCoder, summary: AgentSummary, uploader: Uploader, log: Callable[[str], None],
                 progress: ProgressCallback | None, now: Callable[[], float]) -> None:
    """Two stages overlap: while a worker thread codes segment n's restoration layer, this
    thread plans and codes segment n+1's machine stream (x265 and the detector release the
    GIL). Segments are spooled, and the state saved, in order."""

    def commit(item: _InFlight) -> None:
        layer = item.layer.result()
        if layer is not None:
            item.parts[RESTORATION] = layer
        spool.add(item.seq, item.start, item.first, item.frames, item.fps, item.parts)
        summary.segments_coded += 1
        summary.frames += item.frames
        summary.machine_bytes += len(item.parts[MACHINE])
        summary.restoration_bytes += len(layer or b"")
        summary.detections += item.detections
        state.frames, state.next_seq = item.first + item.frames, item.seq + 1
        spool.save_state(state)
        if progress is not None:
            progress(f"camera {coder.config.camera}", summary.frames, total)

    with open_source(state.frames) as source, ThreadPoolExecutor(1, thread_name_prefix="layer") as layers:
        fps = source.fps
        if not state.epoch:
            state.epoch = now()
        spool.save_state(state)
        total = source.expected_frames
        seq, first = state.next_seq, state.frames
        in_flight: _InFlight | None = None
        frames: Iterable[np.ndarray] = source
        for _, chunk in windows(frames, coder.config.settings.gop):
            if uploader.error is not None:
                break
            start = now() - len(chunk) / fps if source.live else state.epoch + first / fps
            chunk = coder.stored_frames(chunk)
            machine, found, records = coder.machine(chunk, fps, start)
            parts = {MACHINE: machine, DETECTIONS: json.dumps([d.to_dict() for d in found]).encode()}
            behind = in_flight is not None and not in_flight.layer.done()  # the layer stage holds us back
            layer = layers.submit(coder.restoration, chunk, fps, machine, records, hurry=behind)
            if in_flight is not None:
                commit(in_flight)
            in_flight = _InFlight(seq, start, first, len(chunk), fps, parts, len(found), layer)
            seq, first = seq + 1, first + len(chunk)
        if in_flight is not None:
            commit(in_flight)
        spool.save_state(state)
    log(f"coded {summary.segments_coded} segments ({summary.frames} frames)")
