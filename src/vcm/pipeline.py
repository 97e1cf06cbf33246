"""Encode a clip with a planning method, then check it: decode, re-detect, repair.

This is what `vcm encode --method` and the evaluation harness run.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from vcm.codec import QPMap, decode, encode, grid_shape
from vcm.codec.qpmap import BLOCK_SIZE, QP_MAX
from vcm.codec.rates import CodedSize
from vcm.errors import InputError
from vcm.models.detector import Detection, Detector
from vcm.models.faces import Face, FaceDetector
from vcm.planners import (
    METHODS,
    FastConfig,
    Plan,
    PlanSettings,
    XaiBudget,
    plan_bbox,
    plan_fast,
    plan_frame_qp,
    plan_uniform,
    plan_xai,
)
from vcm.preedit.network import PreEditor
from vcm.privacy.generic_face import GenericFace
from vcm.privacy.leakage import detect_faces
from vcm.privacy.mode import PrivacyConfig, conceal, held_faces, protect_maps
from vcm.targets import select_targets, survives

Progress = Callable[[str, int, int], None]
REPAIR_STEP = 4
REPAIR_MARGIN = 16


@dataclass
class FrameReport:
    """One coded frame: its plan, its cost and which targets survived decoding."""

    index: int
    picture_type: str
    bytes: int
    mean_qp: float
    qp_map: list[list[int]]
    targets: list[dict[str, object]]
    survived: list[bool]
    checks: int
    detector_calls: int


@dataclass
class EncodeReport(CodedSize):
    """A method's encode of one clip. Seconds are wall-clock on this machine."""

    method: str
    path: str
    codec: str
    width: int
    height: int
    fps: float
    gop: int
    settings: dict[str, object]
    frames: list[FrameReport] = field(default_factory=list)
    plan_seconds: float = 0.0
    encode_seconds: float = 0.0
    lost_before_repair: int = 0
    repair_rounds: int = 0
    decoded_rgb: np.ndarray | None = field(default=None, repr=False)
    decoded_luma: np.ndarray | None = field(default=None, repr=False)
    decoded_detections: list[list[Detection]] = field(default_factory=list, repr=False)

    @property
    def target_frames(self) -> int:
        return sum(1 for frame in self.frames if frame.targets)

    @property
    def detection_rate(self) -> float:
        """Targets still detected after decoding over targets in the original, counted per
        (target, frame); with --targets top1 this is the share of frames that keep it."""
        total = sum(len(frame.survived) for frame in self.frames)
        kept = sum(sum(frame.survived) for frame in self.frames)
        return kept / total if total else 1.0

    @property
    def lost_frames(self) -> int:
        """Frames where at least one target was lost."""
        return sum(1 for frame in self.frames if not all(frame.survived))

    def seconds_per_frame(self) -> float:
        return (self.plan_seconds + self.encode_seconds) / max(len(self.frames), 1)

    def to_dict(self) -> dict[str, object]:
        hidden = {"frames", "decoded_rgb", "decoded_luma", "decoded_detections"}
        payload = {item.name: getattr(self, item.name) for item in fields(self) if item.name not in hidden}
        payload.update(total_bytes=self.total_bytes, bitrate_kbps=round(self.bitrate_kbps, 3),
                       detection_rate=round(self.detection_rate, 4), lost_frames=self.lost_frames,
                       seconds_per_frame=round(self.seconds_per_frame(), 4),
                       frames=[asdict(frame) for frame in self.frames])
        return payload


def make_plan(method: str, frames: np.ndarray, targets: list[list[Detection]], detector: Detector,
              settings: PlanSettings, *, fast: FastConfig | None = None, budget: XaiBudget | None = None,
              on_frame: Callable[[int], None] | None = None) -> Plan:
    """Run one planning method on a clip."""
    if method == "uniform":
        return plan_uniform(frames, settings)
    if method == "bbox":
        return plan_bbox(frames, targets, settings)
    if method == "frame-qp":
        return plan_frame_qp(frames, targets, detector, settings, on_frame)
    if method == "xai":
        return plan_xai(frames, targets, detector, settings, budget, on_frame)
    if method == "fast":
        return plan_fast(frames, detector, settings, fast, on_frame)
    raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def repair_map(qp_map: QPMap, lost: list[Detection], width: int, height: int) -> QPMap:
    """Lower the QP by REPAIR_STEP on the blocks around each lost target."""
    rows, cols = grid_shape(width, height)
    blocks = qp_map.dense(rows, cols).copy()
    for target in lost:
        x1, y1, x2, y2 = target.box
        row0 = max(int((y1 - REPAIR_MARGIN) // BLOCK_SIZE), 0)
        col0 = max(int((x1 - REPAIR_MARGIN) // BLOCK_SIZE), 0)
        row1 = min(int(np.ceil((y2 + REPAIR_MARGIN) / BLOCK_SIZE)), rows)
        col1 = min(int(np.ceil((x2 + REPAIR_MARGIN) / BLOCK_SIZE)), cols)
        blocks[row0:row1, col0:col1] = np.maximum(blocks[row0:row1, col0:col1] - REPAIR_STEP, 0)
    return QPMap.from_blocks(blocks)


def run_method(
    method: str,
    frames: np.ndarray,
    fps: float,
    out: str | Path,
    detector: Detector,
    settings: PlanSettings,
    *,
    detections: list[list[Detection]] | None = None,
    repair_rounds: int = 0,
    fast: FastConfig | None = None,
    budget: XaiBudget | None = None,
    privacy: PrivacyConfig | None = None,
    preeditor: PreEditor | None = None,
    preedit_detections: bool = False,
    faces: list[list[Face]] | None = None,
    face_detector: FaceDetector | None = None,
    progress: Progress | None = None,
) -> EncodeReport:
    """Plan, encode to `out`, decode, re-detect and (optionally) repair lost targets.

    detections: the detector's output on the original frames if already known (the
    harness shares it between methods); its time is then not charged to the method.
    repair_rounds: re-encodes with lower QP around targets lost in the decoded video.
    privacy: conceal faces before planning and code their blocks at privacy.face_qp
    (the method is then reported as METHOD+privacy); faces: the face detector's output
    on the original if already known, else face_detector (default MTCNN) finds them.
    preeditor: edits every frame before planning and coding (reported as METHOD+preedit),
    leaving what the detector found on the original unedited unless preedit_detections.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    count = len(frames)
    height, width = frames.shape[1:3]

    def tick(label: str) -> Callable[[int], None]:
        return lambda index: progress(label, index + 1, count) if progress else None

    started = time.perf_counter()
    if detections is None:
        detections = []
        report_detect = tick("detect original")
        for index, frame in enumerate(frames):
            detections.extend(detector.detect(frame[None]))
            report_detect(index)
    targets = select_targets(detections, settings.targets)
    if preeditor is not None:
        keep = None if preedit_detections else [[d.box for d in found] for found in detections]
        frames = preeditor.edit_frames(frames, keep=keep)
    concealed: list[list[Face]] = []
    if privacy is not None:
        face_detector = face_detector or _default_face_detector()
        if faces is None:
            faces = detect_faces(frames, face_detector, tick("detect faces"))
        concealed = held_faces(faces, privacy.hold)
        frames = conceal(frames, concealed, GenericFace.build(face_detector), privacy)
    plan = make_plan(method, frames, targets, detector, settings, fast=fast, budget=budget,
                     on_frame=tick(f"plan {method}"))
    plan_seconds = time.perf_counter() - started

    def protect(qp_maps: list[QPMap]) -> list[QPMap]:
        if privacy is None or privacy.face_qp is None:
            return qp_maps
        return protect_maps(qp_maps, concealed, width, height, privacy.face_qp)

    maps = protect(list(plan.maps))
    encode_seconds = 0.0
    lost_before = 0
    rounds = 0
    while True:
        started = time.perf_counter()
        result = encode(plan.frames, maps, out, codec=settings.codec, gop=settings.gop, fps=fps,
                        on_frame=tick(f"encode {method}"))
        encode_seconds = time.perf_counter() - started
        decoded = decode(out)
        found = [detector.detect(frame[None])[0] for frame in decoded.rgb]
        survived = [[survives(t, frame_found, settings.targets) for t in frame_targets]
                    for frame_targets, frame_found in zip(targets, found, strict=True)]
        lost = [[t for t, ok in zip(ts, flags, strict=True) if not ok]
                for ts, flags in zip(targets, survived, strict=True)]
        if rounds == 0:
            lost_before = sum(1 for frame in lost if frame)
        if rounds >= repair_rounds or not any(lost):
            break
        maps = protect([repair_map(m, frame_lost, width, height) if frame_lost else m
                        for m, frame_lost in zip(maps, lost, strict=True)])
        rounds += 1
    rows, cols = grid_shape(width, height)
    report = EncodeReport(
        method=method + ("+preedit" if preeditor else "") + ("+privacy" if privacy else ""),
        path=str(out), codec=settings.codec,
        width=width, height=height, fps=fps,
        gop=settings.gop, settings={"qp": settings.qp, "max_qp": settings.max_qp, "check": settings.check,
                                    "safety": settings.safety,
                           "targets": settings.targets.to_dict(),
                           "fast": asdict(fast or FastConfig()) if method == "fast" else None,
                           "xai": asdict(budget or XaiBudget()) if method == "xai" else None,
                           "privacy": asdict(privacy) if privacy else None,
                           "preedit": ({**preeditor.config(), "edits_detections": preedit_detections}
                                       if preeditor else None)},
        plan_seconds=plan_seconds, encode_seconds=encode_seconds, lost_before_repair=lost_before,
        repair_rounds=rounds, decoded_rgb=decoded.rgb, decoded_luma=decoded.luma, decoded_detections=found,
    )
    for index, stats in enumerate(result.frames):
        report.frames.append(FrameReport(
            index=index, picture_type=stats.picture_type, bytes=stats.bytes, mean_qp=stats.mean_qp,
            qp_map=maps[index].dense(rows, cols).tolist(),
            targets=[t.to_dict() for t in targets[index]], survived=survived[index],
            checks=plan.checks[index], detector_calls=plan.detector_calls[index],
        ))
    return report


def _default_face_detector() -> FaceDetector:
    from vcm.models.mtcnn import load_face_detector

    return load_face_detector()


__all__ = ["METHODS", "QP_MAX", "EncodeReport", "FrameReport", "make_plan", "run_method"]
