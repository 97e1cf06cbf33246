"""Face detection and face identity interfaces every backend implements."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Face:
    """One detected face. box: (x1, y1, x2, y2) in pixels; landmarks: five (x, y) points
    (eyes, nose, mouth corners) or empty when the detector gives none."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def size(self) -> float:
        """The shorter side of the box, in pixels."""
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def to_dict(self) -> dict[str, object]:
        return {"box": [round(v, 1) for v in self.box], "score": round(self.score, 4),
                "size_px": round(self.size, 1)}


class FaceDetector(Protocol):
    """Finds faces in one RGB frame."""

    def detect_faces(self, frame: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> the faces in it, best first."""
        ...


class FaceIdentity(Protocol):
    """Maps a face to an identity embedding; two embeddings closer than `match_distance`
    (L2) belong to the same person."""

    match_distance: float

    def embed(self, frames: Sequence[np.ndarray], face: Face) -> list[np.ndarray]:
        """Embed the region of `face` in each of several (H, W, 3) uint8 RGB frames of the
        same size, aligned identically (landmarks found on the first frame) -> one 1-d
        float vector per frame."""
        ...


def detect_faces(frames: Sequence[np.ndarray] | np.ndarray, face_detector: FaceDetector,
                 on_frame: Callable[[int], None] | None = None) -> list[list[Face]]:
    """Faces of every frame of an (N, H, W, 3) clip; on_frame(index) after each frame."""
    faces = []
    for index, frame in enumerate(frames):
        faces.append(face_detector.detect_faces(frame))
        if on_frame:
            on_frame(index)
    return faces
