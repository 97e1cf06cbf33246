"""The planner interface (one frame in, one plan out) and the codec-in-the-loop check the
search planners share."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from vcm.codec.qpmap import QP_MAX, QPMap
from vcm.codec.roundtrip import RoundTrip
from vcm.models.detector import Detection, Detector
from vcm.tasks.targets import TargetSpec, survives


@dataclass
class PlanSettings:
    """Knobs shared by planners. max_qp: QP for frames without targets and the search cap;
    safety: share of each target's score headroom that the search planners keep in
    reserve, since the final stream differs a little from the check; check: how a
    candidate is coded, 'intra' (alone, as an I-frame) or 'p-frame' (predicted from the
    previous frame's reconstruction, as the final stream codes it)."""

    codec: str = "hevc"
    gop: int = 32
    qp: int = 30
    max_qp: int = QP_MAX
    targets: TargetSpec = field(default_factory=TargetSpec)
    safety: float = 0.25
    check: str = "intra"


@dataclass(frozen=True)
class FrameInput:
    """What a planner sees of one frame. rgb: (H, W, 3) uint8; targets: the detections it
    must keep; detections: the detector's output on exactly these pixels when the pipeline
    already ran it (planners that detect may reuse it), else None; intra: the frame starts
    a GOP (coded as an I-frame)."""

    index: int
    rgb: np.ndarray
    targets: Sequence[Detection]
    detections: Sequence[Detection] | None = None
    intra: bool = False


@dataclass
class FramePlan:
    """A planner's decision for one frame. rgb: (H, W, 3) uint8 to encode (bbox paints
    outside its boxes black); qp_map: its QPs; checks / detector_calls: codec round trips
    and detector forward passes the planner spent on it; found: the detections on the
    original that the planner ran or was given for this frame (None: it saw none);
    recodes: times the frame was coded again because the final stream lost a target that
    the planner's checks had kept."""

    rgb: np.ndarray
    qp_map: QPMap
    checks: int = 0
    detector_calls: int = 0
    found: list[Detection] | None = None
    recodes: int = 0


class Planner(Protocol):
    """Every planner: built once per stream, then called on each frame in coding order."""

    def plan(self, frame: FrameInput) -> FramePlan: ...


@runtime_checkable
class Observing(Protocol):
    """A planner that closes the loop: the pipeline plans it one frame at a time, just
    before coding, and reports each checked frame's detections on the original and on
    the decoded stream, in coding order, before the next frame is planned."""

    def observe(self, index: int, original: Sequence[Detection], decoded: Sequence[Detection]) -> None: ...


class EveryNthDetection:
    """The real-time planners' targets: the detector runs on every n-th frame (the pipeline's
    detections of that frame are reused when given). Of the classes of interest, `latest`
    holds the confident ones (score >= the spec's min_score), `unsure` those scored in
    [floor, min_score) (what the detector half sees), `age` the frames since they were found."""

    def __init__(self, detector: Detector, every: int, spec: TargetSpec, floor: float = 1.0) -> None:
        self.detector, self.every, self.spec, self.floor = detector, every, spec, floor
        self.latest: list[Detection] = []
        self.unsure: list[Detection] = []
        self.age = 0

    def update(self, frame: FrameInput) -> tuple[list[Detection] | None, int]:
        """(the detections found on this frame, or None when the detector did not run on it;
        detector calls spent)."""
        if frame.index % self.every != 0:
            self.age += 1
            return None, 0
        found, calls = frame.detections, 0
        if found is None:
            found, calls = self.detector.detect(frame.rgb[None])[0], 1
        wanted = self.spec.of_interest(found)
        self.latest = [d for d in wanted if d.score >= self.spec.min_score]
        self.unsure = [d for d in wanted if self.floor <= d.score < self.spec.min_score]
        self.age = 0
        return list(found), calls


@dataclass(frozen=True)
class PlanContext:
    """What a planner is built from: frame size (pixels), the detector and the settings."""

    width: int
    height: int
    detector: Detector
    settings: PlanSettings


class CodecCheck:
    """Judges a block QP map for one frame: encode it with the real codec as the final
    stream will (an I-frame, or a P-frame predicted from the previous frame's
    reconstruction), decode, detect, and report which targets were lost."""

    def __init__(self, detector: Detector, width: int, height: int, settings: PlanSettings) -> None:
        self.detector = detector
        self.spec = settings.targets
        self.safety = settings.safety
        self.roundtrip = RoundTrip(width, height, settings.codec)
        self.rows, self.cols = self.roundtrip.rows, self.roundtrip.cols
        self.detector_calls = 0

    @property
    def checks(self) -> int:
        return self.roundtrip.checks

    def lost(self, frame: np.ndarray, block_qp: np.ndarray, targets: Sequence[Detection],
             reference: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
        """(indices of lost targets, decoded (H, W, 3) frame) under (rows, cols) block QPs,
        coded intra or, given the previous reconstruction `reference`, as a P-frame."""
        decoded = self.roundtrip.run(frame, block_qp, reference)
        found = self.detector.detect(decoded[None])[0]
        self.detector_calls += 1
        lost = [i for i, target in enumerate(targets)
                if not survives(target, found, self.spec, self.safety)]
        return lost, decoded

    def keepable(self, frame: np.ndarray, targets: Sequence[Detection], low: int,
                 reference: np.ndarray | None = None) -> list[Detection]:
        """The targets that survive a uniform QP of `low`; the others no QP here can keep
        (their score hovers at the threshold), so a search must not chase them."""
        lost = set(self.lost(frame, np.full((self.rows, self.cols), low), targets, reference)[0])
        return [target for index, target in enumerate(targets) if index not in lost]

    def largest_uniform_qp(self, frame: np.ndarray, targets: Sequence[Detection], low: int,
                           high: int, reference: np.ndarray | None = None) -> int:
        """Binary search of the largest uniform QP in [low, high] at which every target
        survives, given that all of them survive at `low` (see keepable)."""
        def ok(qp: int) -> bool:
            return not self.lost(frame, np.full((self.rows, self.cols), qp), targets, reference)[0]

        if ok(high):
            return high
        while high - low > 1:
            middle = (low + high) // 2
            if ok(middle):
                low = middle
            else:
                high = middle
        return low


class SearchPlanner:
    """A planner that searches each frame's block QPs on the real codec, in coding order.

    Subclasses implement `choose(frame, targets, reference)` -> (rows, cols) block QPs. With
    settings.check == 'p-frame', reference is the previous frame's reconstruction (None on
    I-frames); with 'intra' it is always None. Frames without targets get max_qp."""

    def __init__(self, context: PlanContext, config: object = None) -> None:
        settings = context.settings
        if settings.check not in ("intra", "p-frame"):
            raise ValueError(f"check must be 'intra' or 'p-frame', got {settings.check!r}")
        self.settings = settings
        self.check = CodecCheck(context.detector, context.width, context.height, settings)
        self._reference: np.ndarray | None = None

    def choose(self, frame: np.ndarray, targets: Sequence[Detection],
               reference: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def plan(self, frame: FrameInput) -> FramePlan:
        if frame.intra:
            self._reference = None
        before, calls_before = self.check.checks, self.check.detector_calls
        if frame.targets:
            blocks = self.choose(frame.rgb, frame.targets, self._reference)
        else:
            blocks = np.full((self.check.rows, self.check.cols), self.settings.max_qp)
        if self.settings.check == "p-frame":
            self._reference = self.check.roundtrip.run(frame.rgb, blocks, self._reference)
        return FramePlan(frame.rgb, QPMap.from_blocks(blocks), self.check.checks - before,
                         self.check.detector_calls - calls_before)
