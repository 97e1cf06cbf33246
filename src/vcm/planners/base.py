"""What every planner returns, and the codec-in-the-loop check the search planners share."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vcm.codec.qpmap import QP_MAX, QPMap
from vcm.codec.roundtrip import IntraRoundTrip
from vcm.models.detector import Detection, Detector
from vcm.targets import TargetSpec, survives


@dataclass
class PlanSettings:
    """Knobs shared by planners. max_qp: QP for frames without targets and the search cap."""

    codec: str = "hevc"
    qp: int = 30
    max_qp: int = QP_MAX
    targets: TargetSpec = field(default_factory=TargetSpec)


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
    """Judges a block QP map for one frame: intra-encode with the real codec, decode,
    detect, and report which targets were lost."""

    def __init__(self, detector: Detector, width: int, height: int, settings: PlanSettings) -> None:
        self.detector = detector
        self.spec = settings.targets
        self.roundtrip = IntraRoundTrip(width, height, settings.codec)
        self.rows, self.cols = self.roundtrip.rows, self.roundtrip.cols
        self.detector_calls = 0

    @property
    def checks(self) -> int:
        return self.roundtrip.checks

    def lost(self, frame: np.ndarray, block_qp: np.ndarray,
             targets: Sequence[Detection]) -> tuple[list[int], np.ndarray]:
        """(indices of lost targets, decoded (H, W, 3) frame) under (rows, cols) block QPs."""
        decoded = self.roundtrip.run(frame, block_qp)
        found = self.detector.detect(decoded[None])[0]
        self.detector_calls += 1
        return [i for i, target in enumerate(targets) if not survives(target, found, self.spec)], decoded

    def largest_uniform_qp(self, frame: np.ndarray, targets: Sequence[Detection], low: int,
                           high: int) -> int:
        """Binary search of the largest uniform QP in [low, high] at which every target
        survives; returns low if even low loses one."""
        def ok(qp: int) -> bool:
            return not self.lost(frame, np.full((self.rows, self.cols), qp), targets)[0]

        if ok(high):
            return high
        if not ok(low):
            return low
        while high - low > 1:
            middle = (low + high) // 2
            if ok(middle):
                low = middle
            else:
                high = middle
        return low
