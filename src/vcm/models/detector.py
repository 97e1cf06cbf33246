"""The detector interface every backend implements."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch


@dataclass(frozen=True)
class Detection:
    """One detected object. box: (x1, y1, x2, y2) in pixels of the input frame."""

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    class_name: str

    def to_dict(self) -> dict[str, object]:
        return {"box": [round(v, 2) for v in self.box], "score": round(self.score, 4),
                "class_id": self.class_id, "class_name": self.class_name}


class Detector(Protocol):
    """Detects objects in RGB frames and scores a chosen detection differentiably."""

    class_names: Sequence[str]

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """(N, H, W, 3) uint8 RGB frames -> per frame a list of detections."""
        ...

    def target_score(self, image: torch.Tensor, box: Sequence[float], class_id: int) -> torch.Tensor:
        """Score of class `class_id` for the object at `box` in `image` ((3, H, W) float
        RGB in [0, 1]) as a 0-d tensor that can be differentiated w.r.t. `image`."""
        ...


DETECT_BATCH = 4  # frames per forward pass when detecting a clip


def detect_frames(detector: Detector, frames: Sequence[np.ndarray] | np.ndarray,
                  on_frame: Callable[[int], None] | None = None) -> list[list[Detection]]:
    """Detections of every frame of an (N, H, W, 3) clip, DETECT_BATCH frames per call;
    on_frame(index) after each frame."""
    found: list[list[Detection]] = []
    for start in range(0, len(frames), DETECT_BATCH):
        found.extend(detector.detect(frames[start : start + DETECT_BATCH]))
        if on_frame is not None:
            for index in range(start, len(found)):
                on_frame(index)
    return found


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
