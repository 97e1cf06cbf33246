"""The detector interface every backend implements."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from vcm.errors import InputError


@dataclass(frozen=True)
class Detection:
    """One detected object. box: (x1, y1, x2, y2) in pixels of the input frame; keypoints:
    for a pose, per COCO keypoint (x, y, score) in pixels (empty for a plain box)."""

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    class_name: str
    keypoints: tuple[tuple[float, float, float], ...] = ()

    def to_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"box": [round(v, 2) for v in self.box], "score": round(self.score, 4),
                                     "class_id": self.class_id, "class_name": self.class_name}
        if self.keypoints:
            record["keypoints"] = [[round(x, 2), round(y, 2), round(s, 4)] for x, y, s in self.keypoints]
        return record


class Detector(Protocol):
    """Detects objects in RGB frames and scores a chosen detection differentiably."""

    name: str
    class_names: Sequence[str]
    score_threshold: float

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """(N, H, W, 3) uint8 RGB frames -> per frame a list of detections."""
        ...

    def target_scores(self, image: torch.Tensor, targets: Sequence[Detection]) -> torch.Tensor:
        """(T,) scores of the `targets` (each its class at its box) in `image` ((3, H, W)
        float RGB in [0, 1]), from one forward pass, differentiable w.r.t. `image`."""
        ...

    def score_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) float RGB in [0, 1] -> the dense class scores, one tensor (B, ...,
        classes) per output scale: what the pre-editor's task term compares."""
        ...


class BoxDetector(ABC):
    """A detector defined by its dense candidates (`predictions`): selection by score and
    class-aware NMS, the differentiable target score and the score maps are shared."""

    name: str = ""
    class_names: Sequence[str] = ()
    batch_size: int = 1  # frames per forward pass in detect()

    def __init__(self, *, score_threshold: float = 0.25, nms_iou: float = 0.45) -> None:
        self.score_threshold, self.nms_iou = score_threshold, nms_iou

    @abstractmethod
    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) float RGB in [0, 1] -> boxes (B, P, 4) in input pixels and class
        scores (B, P, classes)."""

    def score_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [self.predictions(images)[1]]

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """(N, H, W, 3) uint8 RGB frames -> per frame its detections, best first; InputError
        for frames of another shape or type (float pictures would be read 255x too dark)."""
        results: list[list[Detection]] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = checked_frames(frames[start : start + self.batch_size], start)
            images = torch.from_numpy(chunk).permute(0, 3, 1, 2).float() / 255.0
            with torch.inference_mode():
                boxes, scores = self.predictions(images)
            results.extend(self.select(boxes[i], scores[i], chunk.shape[1:3]) for i in range(len(chunk)))
        return results

    def select(self, boxes: torch.Tensor, scores: torch.Tensor, frame_hw: tuple[int, int]) -> list[Detection]:
        """Candidates (P, 4), (P, classes) -> detections scoring >= score_threshold after
        class-aware NMS, boxes clipped to the frame."""
        best, class_ids = scores.max(dim=1)
        keep = best >= self.score_threshold
        return self.suppress(boxes[keep], best[keep], class_ids[keep], frame_hw)

    def suppress(self, boxes: torch.Tensor, best: torch.Tensor, class_ids: torch.Tensor,
                 frame_hw: tuple[int, int]) -> list[Detection]:
        """Detections (P, 4) boxes, (P,) scores and class ids -> class-aware NMS, boxes clipped."""
        kept = class_aware_nms(boxes, best, class_ids, self.nms_iou)
        height, width = frame_hw
        limits = torch.tensor([width, height, width, height], dtype=boxes.dtype)
        boxes = torch.minimum(boxes.clamp(min=0), limits)
        return [Detection(box=tuple(float(v) for v in boxes[i]), score=float(best[i]),
                          class_id=int(class_ids[i]), class_name=self.class_names[class_ids[i]])
                for i in kept]

    def target_scores(self, image: torch.Tensor, targets: Sequence[Detection]) -> torch.Tensor:
        """Differentiable (T,) scores of `targets` in one forward pass.

        image: (3, H, W) float RGB in [0, 1]. A target's score is the largest score of its
        class among candidates, each weighted by its overlap with the target's box (weight 1
        at IoU >= 0.5, else the IoU), so only that class and box contribute.
        """
        boxes, scores = self.predictions(image.unsqueeze(0))
        wanted = torch.tensor([list(t.box) for t in targets], dtype=boxes.dtype).reshape(-1, 4)
        overlap = pairwise_iou(boxes[0], wanted)
        weight = torch.where(overlap >= 0.5, torch.ones_like(overlap), overlap).detach()
        classes = torch.tensor([t.class_id for t in targets], dtype=torch.long)
        return (scores[0][:, classes] * weight).max(dim=0).values


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU matrix (N, M) of boxes a (N, 4) and b (M, 4) given as x1, y1, x2, y2."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(dim=1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(dim=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-9)


def class_aware_nms(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor,
                    iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression within each class; returns kept indices, best first."""
    order = torch.argsort(scores, descending=True)
    iou = pairwise_iou(boxes, boxes)
    same_class = class_ids[:, None] == class_ids[None, :]
    suppressed = torch.zeros(len(scores), dtype=torch.bool)
    kept: list[int] = []
    for index in order.tolist():
        if suppressed[index]:
            continue
        kept.append(index)
        suppressed |= (iou[index] > iou_threshold) & same_class[index]
    return kept


DETECT_BATCH = 4  # frames per forward pass when detecting a clip


def checked_frames(frames: Sequence[np.ndarray] | np.ndarray, first: int = 0) -> np.ndarray:
    """Frames stacked as (N, H, W, 3) uint8 RGB; InputError for another shape or type (float
    pictures would be read 255x too dark). first: the index of frames[0], for the message."""
    chunk = np.stack(frames)
    if chunk.ndim != 4 or chunk.shape[-1] != 3 or chunk.dtype != np.uint8:
        raise InputError(f"frames {first}.. are {chunk.shape[1:]} {chunk.dtype}, expected "
                         "(H, W, 3) uint8 RGB")
    return chunk


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
