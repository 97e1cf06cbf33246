"""The option objects of a pipeline run: frame edits, verification, known analyses."""

from collections.abc import Sequence
from dataclasses import dataclass

from vcm.models.detector import Detection
from vcm.models.faces import Face, FaceDetector
from vcm.preedit.network import PreEditor
from vcm.privacy.mode import PrivacyConfig


@dataclass(frozen=True)
class Edits:
    """Changes made to the frames (the method's modifiers).

    preeditor: edits every frame after planning, for its QP map (METHOD+preedit), leaving
    what the detector found on the original unedited unless preedit_detections. privacy:
    conceal faces before planning (METHOD+privacy),
    found by face_detector (default: those MTCNN or BlazeFace finds)."""

    preeditor: PreEditor | None = None
    preedit_detections: bool = False
    privacy: PrivacyConfig | None = None
    face_detector: FaceDetector | None = None


VERIFY_EVERY = 2  # frames: `vcm encode`'s check cadence (measured: bench/bench_memory.py)


@dataclass(frozen=True)
class Verification:
    """Checking the coded stream as it is made: decode it, detect again, and count the
    targets that survived. every: check every n-th frame (the detector then runs on the
    original and the decoded frame only there); repair_rounds: re-code a window up to
    this many times with lower QP around targets it lost (checks every frame);
    steer_every: a closed-loop planner hears the checks of every n-th frame only (the
    harness checks every frame to measure, but steers as `vcm encode` would)."""

    enabled: bool = True
    every: int = 1
    repair_rounds: int = 0
    steer_every: int = 1

    def __post_init__(self) -> None:
        if self.every < 1 or self.repair_rounds < 0 or self.steer_every < 1:
            raise ValueError(f"invalid verification settings: {self}")

    def checks(self, index: int) -> bool:
        """Whether frame `index` is checked."""
        return self.enabled and (self.repair_rounds > 0 or index % self.every == 0)

    def steers(self, index: int) -> bool:
        """Whether frame `index`'s check is reported to a closed-loop planner."""
        return self.checks(index) and index % self.steer_every == 0


@dataclass(frozen=True)
class Known:
    """Analyses of the original already made (the harness shares them between methods);
    per frame of the whole input. Their time is not charged to the method."""

    detections: Sequence[Sequence[Detection]] | None = None
    faces: Sequence[Sequence[Face]] | None = None
