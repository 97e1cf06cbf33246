"""Encode a stream with a planner, checking it as it is made: the streaming pipeline.

Frames flow in windows of whole GOPs: read -> detect on the original (where needed) ->
select targets -> edit (pre-editor, privacy) -> plan -> (repair) -> encode -> decode ->
detect again -> report. Only one window of frames is held at a time, so memory does not
grow with the length of the input. This is what `vcm encode` and the harness run.
"""

import contextlib
import dataclasses
import io
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from vcm.atomic import atomic_output
from vcm.codec import QPMap, decode, encode, grid_shape
from vcm.codec.encoder import Encoder, FrameStats, output_format
from vcm.codec.qpmap import block_span
from vcm.errors import InputError
from vcm.media import windows
from vcm.models.detector import Detection, Detector
from vcm.models.faces import Face
from vcm.pipeline.methods import Method
from vcm.pipeline.options import Edits, Known, Verification
from vcm.pipeline.report import EncodeReport, FrameReport
from vcm.pipeline.verify import Checked, StreamDecoder
from vcm.planners import (
    FrameInput,
    FramePlan,
    Observing,
    PlanContext,
    PlanSettings,
    build_planner,
    planner_entry,
)
from vcm.privacy.mode import FaceConcealer, bound_face_blocks
from vcm.progress import ProgressCallback
from vcm.tasks.targets import select_targets, survival

FrameSink = Callable[[FrameReport], None]
REPAIR_STEP = 4
REPAIR_MARGIN = 16


def repair_map(qp_map: QPMap, lost: Sequence[Detection], width: int, height: int) -> QPMap:
    """Lower the QP by REPAIR_STEP on the blocks around each lost target; a block around several
    lost targets is lowered once for each (lowering it once per round instead left 2 of 9
    targets of the sample's first two frames lost at QP 34 after 4 rounds, where this keeps
    all after 2)."""
    rows, cols = grid_shape(width, height)
    blocks = qp_map.dense(rows, cols).copy()
    for target in lost:
        span = block_span(target.box, REPAIR_MARGIN, rows, cols)
        blocks[span] = np.maximum(blocks[span] - REPAIR_STEP, 0)
    return QPMap.from_blocks(blocks)



@dataclass
class _Coded:
    """A frame handed to the encoder, waiting for its packet and its decoded picture."""

    index: int
    plan: FramePlan
    qp_map: QPMap
    targets: list[Detection]
    checked: bool
    found: list[Detection] | None
    stats: FrameStats | None = None


class _Editor:
    """Applies a run's Edits to windows of frames: concealment before planning, pre-editing
    after it (a QP-aware pre-editor needs the planned maps)."""

    def __init__(self, edits: Edits, known_faces: Sequence[Sequence[Face]] | None) -> None:
        self.edits, self.known_faces = edits, known_faces
        self.concealer = (None if edits.privacy is None
                          else FaceConcealer(edits.privacy, edits.face_detector))

    def conceal(self, start: int, chunk: np.ndarray) -> tuple[np.ndarray, list[list[Face]]]:
        """(the (n, H, W, 3) frames with faces concealed, per frame the faces concealed)."""
        if self.concealer is None:
            return chunk, [[] for _ in chunk]
        known = None if self.known_faces is None else self.known_faces[start : start + len(chunk)]
        return self.concealer.conceal(chunk, known)

    def preedit(self, plans: Sequence[FramePlan], maps: Sequence[QPMap],
                detections: Sequence[list[Detection] | None]) -> list[np.ndarray]:
        """The frames to encode: each plan's picture, pre-edited for its final QP map when
        the run pre-edits. What the planner protects (blocks coded finer than the frame's
        coarsest QP) is never edited (fail safe: a planner keeps what it is unsure of), nor,
        unless preedit_detections, what the detector found on the original. A uniform map
        protects nothing."""
        pictures = [plan.rgb for plan in plans]
        preeditor = self.edits.preeditor
        if preeditor is None:
            return pictures
        keep = (None if self.edits.preedit_detections
                else [[d.box for d in found or []] for found in detections])
        rows, cols = grid_shape(pictures[0].shape[1], pictures[0].shape[0])
        dense = [m.dense(rows, cols) for m in maps]
        protected = [qp < qp.max() for qp in dense]
        return list(preeditor.edit_frames(pictures, keep=keep, qp_maps=dense, keep_blocks=protected))


def run_method(
    planner: str,
    frames: Iterable[np.ndarray],
    fps: float,
    out: str | Path | io.BytesIO,
    detector: Detector,
    settings: PlanSettings,
    *,
    config: Any = None,
    edits: Edits | None = None,
    verify: Verification | None = None,
    known: Known | None = None,
    window: int | None = None,
    keep_frames: bool = False,
    on_frame: FrameSink | None = None,
    progress: ProgressCallback | None = None,
) -> EncodeReport:
    """Plan with `planner` (a name in vcm.planners.PLANNERS, its `config`), encode to `out`
    and check the stream as it is made.

    frames: (H, W, 3) uint8 RGB frames, any iterable (a FrameSource streams). window:
    frames planned together (targets with --targets top1 are tracked within it), rounded
    up to whole GOPs (default one GOP). keep_frames: keep per-frame records and decoded
    frames in the report (short clips only); on_frame gets each record as it completes.
    The file appears at `out` only when complete; an io.BytesIO `out` receives an MP4.
    """
    planner_entry(planner)
    if not isinstance(out, io.BytesIO):
        output_format(out, settings.codec)  # names checked before any frame is read
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise InputError("no frames to encode")
    total = len(frames) if isinstance(frames, Sequence | np.ndarray) else None
    run = MethodRun(planner, first.shape[1], first.shape[0], fps, out, detector, settings, config=config,
                    edits=edits or Edits(), verify=verify or Verification(), known=known or Known(),
                    keep_frames=keep_frames, on_frame=on_frame, progress=progress, total=total)
    gop = settings.gop
    return run.run(_chain(first, iterator), -(-max(window or gop, 1) // gop) * gop)


# per window: detections on the original (None: not run), targets, frames with faces concealed, faces
_Prepared = tuple[list[list[Detection] | None], list[list[Detection]], np.ndarray, list[list[Face]]]
# per window: plans, final QP maps, pictures to code, targets, original detections (None: not run)
_Window = tuple[list[FramePlan], list[QPMap], list[np.ndarray], list[list[Detection]],
                list[list[Detection] | None]]


class MethodRun:
    """One run of run_method: plans each window, encodes it, and turns the encoder's packets
    (decoded and checked when verifying) into frame records, in coding order."""

    def __init__(self, planner: str, width: int, height: int, fps: float, out: str | Path | io.BytesIO,
                 detector: Detector, settings: PlanSettings, *, config: Any, edits: Edits,
                 verify: Verification, known: Known, keep_frames: bool, on_frame: FrameSink | None,
                 progress: ProgressCallback | None, total: int | None) -> None:
        entry = planner_entry(planner)
        self.out = out
        self.muxer = "mp4" if isinstance(out, io.BytesIO) else output_format(out, settings.codec)
        self.width, self.height, self.fps = width, height, fps
        self.detector, self.settings = detector, settings
        self.edits, self.verify, self.known = edits, verify, known
        self.keep_frames, self.on_frame, self.progress, self.total = keep_frames, on_frame, progress, total
        self.planning = build_planner(planner, PlanContext(width, height, detector, settings), config)
        window_steps = verify.repair_rounds > 0 or edits.preeditor is not None  # need a window's maps at once
        self.observer: Observing | None = (self.planning if isinstance(self.planning, Observing)
                                           and verify.enabled and not window_steps else None)
        self.editor = _Editor(edits, known.faces)
        self.needs_all = entry.needs_targets or verify.repair_rounds > 0 or (
            edits.preeditor is not None and not edits.preedit_detections)
        self.label = str(Method(planner, preedit=edits.preeditor is not None,
                                privacy=edits.privacy is not None))
        config_used = config if config is not None else entry.default_config()
        self.report = EncodeReport(
            method=self.label, path="memory" if isinstance(out, io.BytesIO) else str(out),
            codec=settings.codec, width=width, height=height,
            fps=fps, gop=settings.gop, verified=verify.enabled,
            settings=_settings_dict(planner, settings, config_used, edits))
        self.rows, self.cols = grid_shape(width, height)
        self.coded: deque[_Coded] = deque()
        self.awaiting_decode: deque[_Coded] = deque()
        self.decoded_rgb: list[np.ndarray] = []
        self.decoded_luma: list[np.ndarray] = []
        self.checker: StreamDecoder | None = None
        self.encoder: Encoder | None = None

    def run(self, frames: Iterable[np.ndarray], window: int) -> EncodeReport:
        """Code every frame, `window` frames (whole GOPs) planned at a time."""
        report, settings = self.report, self.settings
        memory = isinstance(self.out, io.BytesIO)
        into = contextlib.nullcontext(self.out) if memory else atomic_output(self.out)  # type: ignore[arg-type]
        with into as temporary, Encoder(
                temporary, self.width, self.height, codec=settings.codec, gop=settings.gop, fps=self.fps,
                format=self.muxer, on_packet=self._on_packet) as encoder:
            self.encoder = encoder
            for start, chunk in windows(frames, window):
                if self.observer is not None:
                    self._code_frame_by_frame(start, chunk)
                else:
                    self._code_window(start, chunk)
            started, verify_before = time.perf_counter(), report.verify_seconds
            encoder.close()
            if self.checker is not None:
                with self.checker:
                    for checked in self.checker.feed(None, False):
                        self._finish(self.awaiting_decode.popleft(), checked)
            report.encode_seconds += time.perf_counter() - started - (report.verify_seconds - verify_before)
        if self.keep_frames and self.decoded_rgb:
            report.decoded_rgb, report.decoded_luma = np.stack(self.decoded_rgb), np.stack(self.decoded_luma)
        return report

    def _code_window(self, start: int, chunk: np.ndarray) -> None:
        """Plan a whole window, then code it."""
        plans, maps, pictures, targets, detections = self._plan(start, chunk)
        for i, (plan, qp_map, picture) in enumerate(zip(plans, maps, pictures, strict=True)):
            self._write(start + i, plan, qp_map, picture, targets[i], detections[i])

    def _code_frame_by_frame(self, start: int, chunk: np.ndarray) -> None:
        """Plan each frame just before coding it, so that the checks of the frames before
        it (reported to the planner as they are decoded) steer it."""
        started = time.perf_counter()
        detections, targets, concealed_chunk, concealed = self._prepare(start, chunk)
        self.report.plan_seconds += time.perf_counter() - started
        for i in range(len(chunk)):
            started = time.perf_counter()
            plan = self._plan_frame(start, i, concealed_chunk, targets, detections)
            qp_map = self._protect([plan.qp_map], concealed[i : i + 1])[0]
            self.report.plan_seconds += time.perf_counter() - started
            self._write(start + i, plan, qp_map, plan.rgb, targets[i], detections[i])

    def _write(self, index: int, plan: FramePlan, qp_map: QPMap, picture: np.ndarray,
               targets: list[Detection], detections: list[Detection] | None) -> None:
        """Hand one frame to the encoder (its packet arrives through _on_packet)."""
        report = self.report
        assert self.encoder is not None
        checked = self.verify.checks(index) and detections is not None
        self.coded.append(_Coded(index, plan, qp_map, targets, checked,
                                 plan.found if plan.found is not None else detections))
        started, verify_before = time.perf_counter(), report.verify_seconds
        self.encoder.write(picture, qp_map)
        report.encode_seconds += time.perf_counter() - started - (report.verify_seconds - verify_before)

    def _prepare(self, start: int, chunk: np.ndarray) -> _Prepared:
        """A window's detections on the picture to code, the original or with faces concealed
        (None where not run), targets, frames with faces concealed, and the faces concealed per
        frame."""
        concealed_chunk, concealed = self.editor.conceal(start, chunk)
        self.report.faces_concealed += sum(len(faces) for faces in concealed)
        # with faces concealed, the picture to keep is the concealed one: the targets are what the
        # detector finds on it (a target the concealment itself weakened cannot be kept by coding)
        known = self.known if self.edits.privacy is None else Known(faces=self.known.faces)
        detections, detect_seconds = _original_detections(start, concealed_chunk, self.detector, known,
                                                          self.verify, self.needs_all)
        if not self.needs_all:  # made for the check alone: verification time, not planning
            self.report.verify_seconds += detect_seconds
            self.report.plan_seconds -= detect_seconds
        targets = select_targets([found or [] for found in detections], self.settings.targets)
        return detections, targets, concealed_chunk, concealed

    def _plan_frame(self, start: int, i: int, pictures: np.ndarray, targets: list[list[Detection]],
                    detections: list[list[Detection] | None]) -> FramePlan:
        """The planner's plan for frame start + i of a window."""
        reuse = self.edits.privacy is not None or self.known.detections is None
        return self.planning.plan(FrameInput(
            index=start + i, rgb=pictures[i], targets=targets[i],
            detections=detections[i] if reuse else None, intra=(start + i) % self.settings.gop == 0))

    def _protect(self, maps: list[QPMap], concealed: Sequence[list[Face]]) -> list[QPMap]:
        """The maps with concealed faces held within the privacy mode's QP bounds, if it sets any."""
        if self.edits.privacy is None:
            return maps
        return bound_face_blocks(maps, concealed, self.width, self.height, self.edits.privacy)

    def _plan(self, start: int, chunk: np.ndarray) -> "_Window":
        """A window's plans, final QP maps, pictures to code, targets and original detections."""
        report, settings, edits = self.report, self.settings, self.edits
        started = time.perf_counter()
        detections, targets, concealed_chunk, concealed = self._prepare(start, chunk)
        plans = [self._plan_frame(start, i, concealed_chunk, targets, detections) for i in range(len(chunk))]
        maps = self._protect([plan.qp_map for plan in plans], concealed)
        if self.verify.enabled and self.verify.repair_rounds > 0:
            maps = _repair(plans, maps, targets, concealed, report, self.detector, settings, self.fps, edits,
                           self.verify.repair_rounds)
        pictures = self.editor.preedit(plans, maps, detections)
        report.plan_seconds += time.perf_counter() - started
        return plans, maps, pictures, targets, detections

    def _on_packet(self, stats: FrameStats, packet: av.Packet | None) -> None:
        item = self.coded.popleft()
        item.stats = stats
        if not self.verify.enabled:
            self._finish(item, None)
            return
        started = time.perf_counter()
        if self.checker is None:
            assert self.encoder is not None
            self.checker = StreamDecoder(self.settings.codec, self.width, self.height, self.detector,
                                         self.encoder.extradata)
        self.awaiting_decode.append(item)
        for checked in self.checker.feed(packet, item.checked):
            self._finish(self.awaiting_decode.popleft(), checked)
        self.report.verify_seconds += time.perf_counter() - started

    def _finish(self, item: _Coded, checked: Checked | None) -> None:
        stats, report = item.stats, self.report
        assert stats is not None
        found = checked.found if checked is not None else None
        record = FrameReport(
            index=item.index, picture_type=stats.picture_type, bytes=stats.bytes, mean_qp=stats.mean_qp,
            qp_map=item.qp_map.dense(self.rows, self.cols), targets=list(item.targets),
            survived=survival(item.targets, found, self.settings.targets) if found is not None else None,
            checks=item.plan.checks, detector_calls=item.plan.detector_calls, recodes=item.plan.recodes,
            detections=None if item.found is None else list(item.found))
        report.add(record, self.keep_frames)
        if self.keep_frames and checked is not None:
            self.decoded_rgb.append(checked.rgb)
            self.decoded_luma.append(checked.luma)
            report.decoded_detections.append(found or [])
        if (self.observer is not None and found is not None and item.found is not None
                and self.verify.steers(item.index)):
            self.observer.observe(item.index, item.found, found)
        if self.on_frame is not None:
            self.on_frame(record)
        if self.progress is not None:
            self.progress(self.label, report.frame_count, self.total)


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _original_detections(start: int, chunk: np.ndarray, detector: Detector, known: Known,
                         verify: Verification, every_frame: bool
                         ) -> tuple[list[list[Detection] | None], float]:
    """Per frame of a window, the detector's output on the original where it is needed
    (every frame, or the checked ones), else None; and the seconds spent detecting."""
    if known.detections is not None:
        return [list(found) for found in known.detections[start : start + len(chunk)]], 0.0
    started = time.perf_counter()
    wanted = [every_frame or verify.checks(start + i) for i in range(len(chunk))]
    found = detector.detect(chunk[wanted]) if any(wanted) else []
    results: list[list[Detection] | None] = []
    position = 0
    for want in wanted:
        results.append(found[position] if want else None)
        position += want
    return results, time.perf_counter() - started


def _repair(plans: Sequence[FramePlan], maps: list[QPMap], targets: Sequence[list[Detection]],
            concealed: Sequence[list[Face]], report: EncodeReport, detector: Detector,
            settings: PlanSettings, fps: float, edits: Edits, rounds: int) -> list[QPMap]:
    """Code the window alone, decode, detect; lower QP around lost targets and try again,
    up to `rounds` times. Returns the window's final maps."""
    height, width = plans[0].rgb.shape[:2]
    with tempfile.TemporaryDirectory(prefix="vcm-repair-") as folder:
        trial = Path(folder) / f"trial.{'hevc' if settings.codec == 'hevc' else '264'}"
        for round_number in range(rounds + 1):
            encode([plan.rgb for plan in plans], maps, trial, codec=settings.codec, gop=settings.gop, fps=fps)
            decoded = decode(trial, read_qp=False).rgb
            assert decoded is not None
            found = detector.detect(decoded)
            lost = [[t for t, ok in zip(ts, survival(ts, f, settings.targets), strict=True) if not ok]
                    for ts, f in zip(targets, found, strict=True)]
            if round_number == 0:
                report.lost_before_repair += sum(1 for frame_lost in lost if frame_lost)
            if round_number == rounds or not any(lost):
                break
            maps = [repair_map(m, frame_lost, width, height) if frame_lost else m
                    for m, frame_lost in zip(maps, lost, strict=True)]
            if edits.privacy is not None:
                maps = bound_face_blocks(maps, concealed, width, height, edits.privacy)
            report.repair_rounds = max(report.repair_rounds, round_number + 1)
    return maps


def _settings_dict(planner: str, settings: PlanSettings, config: Any, edits: Edits) -> dict[str, object]:
    return {"qp": settings.qp, "max_qp": settings.max_qp, "check": settings.check, "safety": settings.safety,
            "targets": settings.targets.to_dict(),
            "config": asdict(config) if dataclasses.is_dataclass(config) else None,
            "privacy": asdict(edits.privacy) if edits.privacy else None,
            "preedit": ({**edits.preeditor.config(), "edits_detections": edits.preedit_detections}
                        if edits.preeditor else None)}
