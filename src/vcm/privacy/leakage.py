"""How much face identity survives coding, and whether the people stay detectable.

Faces are found on the original; each face is attacked (vcm.privacy.attacks: the decoded
face as it is and after inversion attempts) and embedded by every attacker (a face identity
model with its own published threshold), each attempt aligned as the original. A face leaks
to an attacker when any attempt's embedding still matches the original's (L2 below that
model's threshold), and leaks when it leaks to any attacker. Faces smaller than
MIN_RECOGNISABLE_FACE pixels are reported as too small, not counted as protected.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from vcm.models.detector import Detection, Detector, detect_frames
from vcm.models.faces import Face, FaceDetector, FaceIdentity, detect_faces
from vcm.privacy.attacks import Attempt, attempts
from vcm.rounding import rounded
from vcm.tasks.targets import TargetSpec, select_targets, survival

# Shorter side of the face box, pixels. Measured with dlib's model on the face photos
# (bench/bench_privacy.py, part privacy-cost of `make results`): downscaled to 12 px a face
# matched no other photo of the same person; from 16 px on, some comparisons match.
MIN_RECOGNISABLE_FACE = 16.0
PERSON = "person"


@dataclass
class FaceRecord:
    """One face in one frame. status: 'leaked' (some attacker matches it after some attempt),
    'protected' (none does) or 'too_small' (below MIN_RECOGNISABLE_FACE in the original, so
    not counted either way); distances: per attacker, per attempt, the L2 between the
    original's embedding and the attacked one's (empty when too small); leaked_to: the
    attackers that matched it."""

    frame: int
    face: dict[str, object]
    status: str
    distances: dict[str, dict[str, float]] = field(default_factory=dict)
    leaked_to: list[str] = field(default_factory=list)

    def leaked_as_decoded(self, thresholds: Mapping[str, float]) -> bool:
        """Whether some attacker matches the decoded face without any inversion attempt."""
        return any(attempts_of["decoded"] < thresholds[name] for name, attempts_of in self.distances.items())


@dataclass
class PrivacyReport:
    """Per-face records and the clip's figures. leak_rate: leaked / recognisable faces
    (None without any); person_detection_rate: person targets still detected after
    decoding (None without any person target)."""

    faces: list[FaceRecord] = field(default_factory=list)
    person_targets: int = 0
    persons_kept: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)  # attacker -> its match distance (L2)
    min_face_px: float = MIN_RECOGNISABLE_FACE

    def merge(self, part: "PrivacyReport", offset: int) -> None:
        """Add the report of a later window of the same video, whose frames start at `offset`."""
        self.faces.extend(replace(face, frame=face.frame + offset) for face in part.faces)
        self.person_targets += part.person_targets
        self.persons_kept += part.persons_kept

    @property
    def recognisable(self) -> int:
        return sum(1 for f in self.faces if f.status != "too_small")

    @property
    def leaked(self) -> int:
        return sum(1 for f in self.faces if f.status == "leaked")

    @property
    def too_small(self) -> int:
        return sum(1 for f in self.faces if f.status == "too_small")

    @property
    def leak_rate(self) -> float | None:
        """Share of recognisable faces some attacker matches after some attempt."""
        return self.leaked / self.recognisable if self.recognisable else None

    def leak_rate_to(self, attacker: str) -> float | None:
        """Share of recognisable faces `attacker` matches after some attempt."""
        leaked = sum(1 for f in self.faces if attacker in f.leaked_to)
        return leaked / self.recognisable if self.recognisable else None

    @property
    def leak_rate_as_decoded(self) -> float | None:
        """Share of recognisable faces some attacker matches without an inversion attempt."""
        leaked = sum(1 for face in self.faces
                     if face.status != "too_small" and face.leaked_as_decoded(self.thresholds))
        return leaked / self.recognisable if self.recognisable else None

    @property
    def person_detection_rate(self) -> float | None:
        return self.persons_kept / self.person_targets if self.person_targets else None

    def to_dict(self) -> dict[str, object]:
        return {"leak_rate": rounded(self.leak_rate, "share"),
                "leak_rate_to": {name: rounded(self.leak_rate_to(name), "share") for name in self.thresholds},
                "leak_rate_as_decoded": rounded(self.leak_rate_as_decoded, "share"),
                "faces_recognisable": self.recognisable, "faces_leaked": self.leaked,
                "faces_too_small": self.too_small,
                "person_detection_rate": rounded(self.person_detection_rate, "share"),
                "person_targets": self.person_targets, "thresholds": self.thresholds,
                "min_face_px": self.min_face_px, "faces": [asdict(f) for f in self.faces]}


def person_survival(original: Sequence[Sequence[Detection]], decoded: Sequence[Sequence[Detection]],
                    spec: TargetSpec) -> tuple[int, int]:
    """(person targets in the original, how many are still detected after decoding)."""
    targets = [[d for d in frame if d.class_name == PERSON] for frame in select_targets(original, spec)]
    total = sum(len(frame) for frame in targets)
    kept = sum(sum(survival(frame, found, spec)) for frame, found in zip(targets, decoded, strict=True))
    return total, kept


def measure_leakage(original: np.ndarray, decoded: np.ndarray, faces: Sequence[Sequence[Face]],
                    attackers: Mapping[str, FaceIdentity],
                    min_face_px: float = MIN_RECOGNISABLE_FACE) -> list[FaceRecord]:
    """Per face found on the original (faces[i] for frame i), whether its identity survives
    in the decoded frame for any attacker after any attempt. original, decoded: (N, H, W, 3)
    uint8 RGB of equal shape; attackers: name -> face identity model."""
    if original.shape != decoded.shape:
        raise ValueError(f"original {original.shape} and decoded {decoded.shape} differ in shape")
    if len(faces) != len(original):
        raise ValueError(f"faces given for {len(faces)} frames, clip has {len(original)}")
    records = []
    for index, frame_faces in enumerate(faces):
        for face in frame_faces:
            if face.size < min_face_px:
                records.append(FaceRecord(index, face.to_dict(), "too_small"))
                continue
            views = attempts(original, decoded, faces, index, face)
            distances = {name: _attempt_distances(identity, views) for name, identity in attackers.items()}
            leaked_to = [name for name, identity in attackers.items()
                         if min(distances[name].values()) < identity.match_distance]
            records.append(FaceRecord(index, face.to_dict(), "leaked" if leaked_to else "protected",
                                      distances, leaked_to))
    return records


def _attempt_distances(identity: FaceIdentity, views: Sequence[Attempt]) -> dict[str, float]:
    """attempt name -> L2 between the original's and the attacked embedding. Attempts at the
    same scale share the original's embedding (one forward pass for them all)."""
    distances: dict[str, float] = {}
    by_size: dict[tuple[int, ...], list[Attempt]] = {}
    for view in views:
        by_size.setdefault(view.original.shape, []).append(view)
    for group in by_size.values():
        embeddings = identity.embed([group[0].original, *(view.attacked for view in group)], group[0].face)
        for view, embedding in zip(group, embeddings[1:], strict=True):
            distances[view.name] = rounded(float(np.linalg.norm(embeddings[0] - embedding)), "share")
    return distances


def privacy_report(original: np.ndarray, decoded: np.ndarray, *, face_detector: FaceDetector,
                   attackers: Mapping[str, FaceIdentity], detector: Detector, spec: TargetSpec | None = None,
                   faces: Sequence[Sequence[Face]] | None = None,
                   original_detections: Sequence[Sequence[Detection]] | None = None,
                   decoded_detections: Sequence[Sequence[Detection]] | None = None) -> PrivacyReport:
    """Leak rates (by any and by each of `attackers`) and person detection rate of a decoded
    clip against its original. Faces and detections already computed may be passed in to save their cost."""
    spec = spec or TargetSpec()
    faces = detect_faces(original, face_detector) if faces is None else faces
    if original_detections is None:
        original_detections = detect_frames(detector, original)
    if decoded_detections is None:
        decoded_detections = detect_frames(detector, decoded)
    total, kept = person_survival(original_detections, decoded_detections, spec)
    return PrivacyReport(faces=measure_leakage(original, decoded, faces, attackers),
                         person_targets=total, persons_kept=kept, thresholds=match_thresholds(attackers))


def match_thresholds(attackers: Mapping[str, FaceIdentity]) -> dict[str, float]:
    """attacker name -> its match distance."""
    return {name: identity.match_distance for name, identity in attackers.items()}
