"""How much face identity survives coding, and whether the people stay detectable.

Faces are found on the original; each face is attacked (vcm.privacy.attacks: the decoded
face as it is and after inversion attempts) and embedded by every attacker (a face identity
model with its own published threshold), each attempt aligned as the original. A face leaks
to an attacker when any attempt's embedding still matches the original's (L2 below that
model's threshold), and leaks when it leaks to any attacker.

The attacker compares a picture with itself, so pixels around the face that coding keeps
(hair, clothes, background) make the two alike whatever happened to the face. Each face is
therefore also compared with its control, the original with the face box filled flat
(attacks.CONTEXT): an attacker that matches the control recognises the surroundings, and
that face does not count for that attacker (it is measurable by the others); a face no
attacker can measure is reported as 'context'. The raw leak rate counts every match,
measurable or not. Faces smaller than MIN_RECOGNISABLE_FACE pixels are reported as too
small, not counted as protected.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from vcm.models.detector import Detection, Detector, detect_frames
from vcm.models.faces import Face, FaceDetector, FaceIdentity, detect_faces
from vcm.privacy.attacks import ATTEMPTS, CONTEXT, Attempt, attempts
from vcm.rounding import rounded
from vcm.tasks.targets import TargetSpec, select_targets, survival

# Shorter side of the face box, pixels. Measured with dlib's model on the face photos
# (bench/bench_privacy.py, part privacy-cost of `make results`): downscaled to 12 px a face
# matched no other photo of the same person; from 16 px on, some comparisons match.
MIN_RECOGNISABLE_FACE = 16.0
PERSON = "person"


@dataclass
class FaceRecord:
    """One face in one frame. status: 'leaked' (an attacker that can measure it matches it
    after some attempt), 'protected' (none does), 'context' (every attacker matches its
    control, so none can measure it) or 'too_small' (below MIN_RECOGNISABLE_FACE in the
    original); distances: per attacker, per attempt (and CONTEXT, the control), the L2
    between the original's embedding and the attacked one's (empty when too small);
    measured_by: the attackers that do not match the control; leaked_to: those of them that
    match an attempt."""

    frame: int
    face: dict[str, object]
    status: str
    distances: dict[str, dict[str, float]] = field(default_factory=dict)
    measured_by: list[str] = field(default_factory=list)
    leaked_to: list[str] = field(default_factory=list)

    def matched(self, attacker: str, threshold: float, attempts: Sequence[str] = ATTEMPTS) -> bool:
        """Whether `attacker` matches one of `attempts` of this face (measurable or not)."""
        distances = self.distances.get(attacker, {})
        return any(distances[name] < threshold for name in attempts if name in distances)


@dataclass
class PrivacyReport:
    """Per-face records and the clip's figures. leak_rate: leaked / measurable faces
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
        """Faces large enough to recognise."""
        return sum(1 for f in self.faces if f.status != "too_small")

    @property
    def measurable(self) -> int:
        """Recognisable faces some attacker can measure (its control does not match)."""
        return sum(1 for f in self.faces if f.status in ("leaked", "protected"))

    @property
    def context_only(self) -> int:
        return sum(1 for f in self.faces if f.status == "context")

    @property
    def leaked(self) -> int:
        return sum(1 for f in self.faces if f.status == "leaked")

    @property
    def too_small(self) -> int:
        return sum(1 for f in self.faces if f.status == "too_small")

    @property
    def leak_rate(self) -> float | None:
        """Share of measurable faces an attacker that can measure them matches after some attempt."""
        return self.leaked / self.measurable if self.measurable else None

    def measured_by(self) -> dict[str, int]:
        """attacker -> how many faces it can measure."""
        return {name: sum(name in f.measured_by for f in self.faces) for name in self.thresholds}

    def leak_rate_to(self, attacker: str) -> float | None:
        """Share of the faces `attacker` can measure that it matches after some attempt."""
        measured = [f for f in self.faces if attacker in f.measured_by]
        return sum(attacker in f.leaked_to for f in measured) / len(measured) if measured else None

    @property
    def leak_rate_as_decoded(self) -> float | None:
        """leak_rate without any inversion attempt."""
        leaked = sum(1 for face in self.faces if any(face.matched(name, self.thresholds[name], ("decoded",))
                                                     for name in face.measured_by))
        return leaked / self.measurable if self.measurable else None

    @property
    def leak_rate_raw(self) -> float | None:
        """Share of recognisable faces any attacker matches after some attempt, its control
        matching or not (an upper bound: surroundings count as identity)."""
        leaked = sum(1 for face in self.faces if face.status != "too_small"
                     and any(face.matched(name, threshold) for name, threshold in self.thresholds.items()))
        return leaked / self.recognisable if self.recognisable else None

    @property
    def person_detection_rate(self) -> float | None:
        return self.persons_kept / self.person_targets if self.person_targets else None

    def to_dict(self) -> dict[str, object]:
        return {"leak_rate": rounded(self.leak_rate, "share"),
                "leak_rate_to": {name: rounded(self.leak_rate_to(name), "share") for name in self.thresholds},
                "leak_rate_as_decoded": rounded(self.leak_rate_as_decoded, "share"),
                "leak_rate_raw": rounded(self.leak_rate_raw, "share"),
                "faces_recognisable": self.recognisable, "faces_measurable": self.measurable,
                "faces_context_only": self.context_only, "faces_leaked": self.leaked,
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
    in the decoded frame for an attacker that can measure it, after any attempt. original,
    decoded: (N, H, W, 3) uint8 RGB of equal shape; attackers: name -> face identity model."""
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
            measured_by = [name for name, identity in attackers.items()
                           if distances[name][CONTEXT] >= identity.match_distance]
            leaked_to = [name for name in measured_by
                         if min(distances[name][attempt] for attempt in ATTEMPTS)
                         < attackers[name].match_distance]
            status = "leaked" if leaked_to else "protected" if measured_by else "context"
            records.append(FaceRecord(index, face.to_dict(), status, distances, measured_by, leaked_to))
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
