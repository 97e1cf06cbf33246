"""What a pipeline run reports: per-frame records and the run's totals.

Totals are counters, so a report does not grow with the length of the video; the
per-frame records go to a sink as they complete (e.g. a --stats file) and are kept in
the report only when asked (short clips, the evaluation harness).
"""

from dataclasses import dataclass, field, fields

import numpy as np

from vcm.codec.rates import StreamInfo, bitrate_kbps
from vcm.models.detector import Detection
from vcm.rounding import rounded


@dataclass
class FrameReport:
    """One coded frame: its plan, its cost and which targets survived decoding (survived
    is None when the frame was not checked); qp_map: (rows, cols) block QPs; detections:
    what the detector found on the picture to code (the original, or with faces concealed),
    where it ran (None where it did not);
    recodes: times the planner coded the frame again because its final stream lost a
    target its checks had kept. to_dict() is the JSON form (--stats, results)."""

    index: int
    picture_type: str
    bytes: int
    mean_qp: float
    qp_map: np.ndarray
    targets: list[Detection]
    survived: list[bool] | None
    checks: int
    detector_calls: int
    detections: list[Detection] | None = None
    recodes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "picture_type": self.picture_type, "bytes": self.bytes,
                "mean_qp": self.mean_qp, "qp_map": self.qp_map.tolist(),
                "targets": [target.to_dict() for target in self.targets], "survived": self.survived,
                "checks": self.checks, "detector_calls": self.detector_calls,
                "detections": None if self.detections is None else [d.to_dict() for d in self.detections],
                "recodes": self.recodes}


@dataclass
class EncodeReport(StreamInfo):
    """A method's encode of one input. Seconds are wall-clock on this machine; stopped_early:
    a live input was stopped by a signal (the output holds what was coded until then)."""

    method: str
    gop: int
    settings: dict[str, object]
    verified: bool = False
    frame_count: int = 0
    total_bytes: int = 0
    checked_frames: int = 0
    targets_total: int = 0
    targets_kept: int = 0
    lost_frames: int = 0
    lost_before_repair: int = 0
    repair_rounds: int = 0
    checks: int = 0
    detector_calls: int = 0
    recodes: int = 0
    faces_concealed: int = 0  # face regions concealed, summed over frames (held ones included)
    plan_seconds: float = 0.0
    encode_seconds: float = 0.0
    verify_seconds: float = 0.0
    stopped_early: bool = False
    frames: list[FrameReport] = field(default_factory=list)
    decoded_rgb: np.ndarray | None = field(default=None, repr=False)
    decoded_luma: np.ndarray | None = field(default=None, repr=False)
    decoded_detections: list[list[Detection]] = field(default_factory=list, repr=False)

    def add(self, frame: FrameReport, keep: bool) -> None:
        """Count one finished frame (and keep its record if `keep`)."""
        self.frame_count += 1
        self.total_bytes += frame.bytes
        self.checks += frame.checks
        self.detector_calls += frame.detector_calls
        self.recodes += frame.recodes
        if frame.survived is not None:
            self.checked_frames += 1
            self.targets_total += len(frame.survived)
            self.targets_kept += sum(frame.survived)
            self.lost_frames += not all(frame.survived)
        if keep:
            self.frames.append(frame)

    @property
    def bitrate_kbps(self) -> float:
        return bitrate_kbps(self.total_bytes, self.frame_count, self.fps)

    @property
    def detection_rate(self) -> float | None:
        """Targets still detected after decoding over targets in the original, counted per
        (target, checked frame); None when the stream was not verified."""
        if not self.verified:
            return None
        return self.targets_kept / self.targets_total if self.targets_total else 1.0

    def seconds_per_frame(self) -> float:
        """Wall-clock seconds per frame of planning and encoding (verification excluded)."""
        return (self.plan_seconds + self.encode_seconds) / max(self.frame_count, 1)

    def summary(self) -> dict[str, object]:
        """Everything but the per-frame records and decoded frames, JSON-ready."""
        hidden = {"frames", "decoded_rgb", "decoded_luma", "decoded_detections"}
        payload = {item.name: getattr(self, item.name) for item in fields(self) if item.name not in hidden}
        for key in ("plan_seconds", "encode_seconds", "verify_seconds"):
            payload[key] = rounded(payload[key], "seconds")
        payload.update(bitrate_kbps=rounded(self.bitrate_kbps, "kbps"),
                       detection_rate=rounded(self.detection_rate, "share"),
                       seconds_per_frame=rounded(self.seconds_per_frame(), "seconds"))
        return payload

    def to_dict(self) -> dict[str, object]:
        return {**self.summary(), "frames": [frame.to_dict() for frame in self.frames]}
