"""How much face identity survives coding, and whether the people stay detectable.

Faces are found on the original; each face region is embedded in the original and in
the decoded frame with the same alignment, and the identity leaks when the two
embeddings still match (L2 below the identity model's threshold). Faces smaller than
MIN_RECOGNISABLE_FACE pixels are reported as too small, not counted as protected.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from vcm.models.detector import Detection, Detector, detect_frames
from vcm.models.faces import Face, FaceDetector, FaceIdentity, detect_faces
from vcm.rounding import rounded
from vcm.tasks.targets import TargetSpec, select_targets, survival

# Shorter side of the face box, pixels. Measured with dlib's model on the face photos
# (bench/bench_privacy.py, part privacy-cost of `make results`): downscaled to 12 px a face
# matched no other photo of the same person; from 16 px on, some comparisons match.
MIN_RECOGNISABLE_FACE = 16.0
PERSON = "person"


@dataclass
class FaceRecord:
    """One face in one frame. status: 'leaked' (identity still matches after decoding),
    'protected' (it does not) or 'too_small' (below MIN_RECOGNISABLE_FACE in the
    original, so not counted either way); distance: L2 between the embeddings."""

    frame: int
    face: dict[str, object]
    status: str
    distance: float | None


@dataclass
class PrivacyReport:
    """Per-face records and the clip's figures. leak_rate: leaked / recognisable faces
    (None without any); person_detection_rate: person targets still detected after
    decoding (None without any person target)."""

    faces: list[FaceRecord] = field(default_factory=list)
    person_targets: int = 0
    persons_kept: int = 0
    match_distance: float = 0.6
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
        return self.leaked / self.recognisable if self.recognisable else None

    @property
    def person_detection_rate(self) -> float | None:
        return self.persons_kept / self.person_targets if self.person_targets else None

    def to_dict(self) -> dict[str, object]:
        return {"leak_rate": rounded(self.leak_rate, "share"), "faces_recognisable": self.recognisable,
                "faces_leaked": self.leaked, "faces_too_small": self.too_small,
                "person_detection_rate": rounded(self.person_detection_rate, "share"),
                "person_targets": self.person_targets, "match_distance": self.match_distance,
                "min_face_px": self.min_face_px, "faces": [asdict(f) for f in self.faces]}


def person_survival(original: Sequence[Sequence[Detection]], decoded: Sequence[Sequence[Detection]],
                    spec: TargetSpec) -> tuple[int, int]:
    """(person targets in the original, how many are still detected after decoding)."""
    targets = [[d for d in frame if d.class_name == PERSON] for frame in select_targets(original, spec)]
    total = sum(len(frame) for frame in targets)
    kept = sum(sum(survival(frame, found, spec)) for frame, found in zip(targets, decoded, strict=True))
    return total, kept


def measure_leakage(original: np.ndarray, decoded: np.ndarray, faces: Sequence[Sequence[Face]],
                    identity: FaceIdentity, min_face_px: float = MIN_RECOGNISABLE_FACE) -> list[FaceRecord]:
    """Per face found on the original (faces[i] for frame i), whether its identity survives
    in the decoded frame. original, decoded: (N, H, W, 3) uint8 RGB of equal shape."""
    if original.shape != decoded.shape:
        raise ValueError(f"original {original.shape} and decoded {decoded.shape} differ in shape")
    if len(faces) != len(original):
        raise ValueError(f"faces given for {len(faces)} frames, clip has {len(original)}")
    records = []
    for index, frame_faces in enumerate(faces):
        for face in frame_faces:
            if face.size < min_face_px:
                records.append(FaceRecord(index, face.to_dict(), "too_small", None))
                continue
            before, after = identity.embed([original[index], decoded[index]], face)
            distance = float(np.linalg.norm(before - after))
            status = "leaked" if distance < identity.match_distance else "protected"
            records.append(FaceRecord(index, face.to_dict(), status, rounded(distance, "share")))
    return records


def privacy_report(original: np.ndarray, decoded: np.ndarray, *, face_detector: FaceDetector,
                   identity: FaceIdentity, detector: Detector, spec: TargetSpec | None = None,
                   faces: Sequence[Sequence[Face]] | None = None,
                   original_detections: Sequence[Sequence[Detection]] | None = None,
                   decoded_detections: Sequence[Sequence[Detection]] | None = None) -> PrivacyReport:
    """Leak rate and person detection rate of a decoded clip against its original.
    Faces and detections already computed may be passed in to save their cost."""
    spec = spec or TargetSpec()
    faces = detect_faces(original, face_detector) if faces is None else faces
    if original_detections is None:
        original_detections = detect_frames(detector, original)
    if decoded_detections is None:
        decoded_detections = detect_frames(detector, decoded)
    total, kept = person_survival(original_detections, decoded_detections, spec)
    return PrivacyReport(faces=measure_leakage(original, decoded, faces, identity),
                         person_targets=total, persons_kept=kept, match_distance=identity.match_distance)
