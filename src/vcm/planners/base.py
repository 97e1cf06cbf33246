"""What every planner returns, and the codec-in-the-loop check the search planners share."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vcm.codec.qpmap import QP_MAX, QPMap
from vcm.codec.roundtrip import RoundTrip
from vcm.models.detector import Detection, Detector
from vcm.targets import TargetSpec, survives


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


@dataclass
class Plan:
    """A planner's output for a clip.

    frames: (N, H, W, 3) uint8 RGB to encode (bbox paints outside its boxes black);
    maps: one QPMap per frame; checks / detector_calls: per-frame counts of codec
    round trips and detector forward passes the planner spent.
    """

    frames: np.ndarray
    maps: list[QPMap]
    checks: list[int]
    detector_calls: list[int]


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


BlockChooser = Callable[[np.ndarray, Sequence[Detection], np.ndarray | None], np.ndarray]


def plan_in_order(frames: np.ndarray, targets: Sequence[Sequence[Detection]], check: CodecCheck,
                  settings: PlanSettings, choose: BlockChooser,
                  on_frame: Callable[[int], None] | None = None) -> Plan:
    """Plan frames in coding order: `choose(frame, targets, reference)` returns a frame's
    (rows, cols) block QPs. With settings.check == 'p-frame', reference is the previous
    frame's reconstruction (None on I-frames, every gop-th frame); with 'intra' it is
    always None. Frames without targets get max_qp."""
    if settings.check not in ("intra", "p-frame"):
        raise ValueError(f"check must be 'intra' or 'p-frame', got {settings.check!r}")
    predicted = settings.check == "p-frame"
    maps, checks, calls = [], [], []
    reference: np.ndarray | None = None
    for index, (frame, frame_targets) in enumerate(zip(frames, targets, strict=True)):
        if index % settings.gop == 0:
            reference = None
        before, calls_before = check.checks, check.detector_calls
        if frame_targets:
            blocks = choose(frame, frame_targets, reference)
        else:
            blocks = np.full((check.rows, check.cols), settings.max_qp)
        if predicted:
            reference = check.roundtrip.run(frame, blocks, reference)
        maps.append(QPMap.from_blocks(blocks))
        checks.append(check.checks - before)
        calls.append(check.detector_calls - calls_before)
        if on_frame is not None:
            on_frame(index)
    return Plan(frames=frames, maps=maps, checks=checks, detector_calls=calls)
