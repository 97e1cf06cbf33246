"""How frames reach detectors: `NAME@letterbox` pads each frame to a square (the aspect kept,
not stretched), `NAME@tiles` also runs the model on overlapping square tiles along the
frame's long side, so small people in a wide frame are seen at a larger scale;
`NAME+NAME` unites what several models find.

A view's candidates are selected by the model's own rule (its `select`), moved to frame
pixels, and the views' detections merged by class-aware NMS. `predictions` concatenates
the views' candidates, so target scores and score maps stay differentiable.
"""

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vcm.models.detector import BoxDetector, Detection, checked_frames

FRAMINGS = ("letterbox", "tiles")
TILE_OVERLAP = 0.25  # share of a tile's side that neighbouring tiles share
PAD_VALUE = 114 / 255  # the grey detectors are usually trained to pad with


class FramedDetector(BoxDetector):
    """`base` shown each frame letterboxed to a square, and with framing 'tiles' also as
    square tiles (side = the frame's short side) along its long side."""

    def __init__(self, base: BoxDetector, framing: str) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
        super().__init__(score_threshold=base.score_threshold, nms_iou=base.nms_iou)
        self.base, self.framing = base, framing
        self.name, self.class_names = f"{base.name}@{framing}", base.class_names

    def views(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """(x0, y0, side) of each square view in frame pixels; the first is the letterboxed
        frame (side = the long side, reaching past the frame where it is padded)."""
        views = [(0, 0, max(height, width))]
        short, long = min(height, width), max(height, width)
        if self.framing == "tiles" and long > short * 1.2:
            count = math.ceil((long - short) / (short * (1 - TILE_OVERLAP))) + 1
            starts = np.linspace(0, long - short, count).round().astype(int)
            views += [(int(s), 0, short) if width > height else (0, int(s), short) for s in starts]
        return views

    def _view_inputs(self, images: torch.Tensor) -> list[tuple[torch.Tensor, int, int]]:
        """Per view: (B, 3, side, side) pixels (padded with grey where past the frame), x0, y0."""
        height, width = images.shape[-2:]
        out = []
        for x0, y0, side in self.views(height, width):
            crop = images[..., y0:y0 + side, x0:x0 + side]
            pad = (0, side - crop.shape[-1], 0, side - crop.shape[-2])
            out.append((F.pad(crop, pad, value=PAD_VALUE) if any(pad) else crop, x0, y0))
        return out

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        boxes, scores = [], []
        for view, x0, y0 in self._view_inputs(images):
            view_boxes, view_scores = self.base.predictions(view)
            boxes.append(view_boxes + torch.tensor([x0, y0, x0, y0], dtype=view_boxes.dtype))
            scores.append(view_scores)
        return torch.cat(boxes, dim=1), torch.cat(scores, dim=1)

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """Per frame: each view's detections by the model's own selection (at this detector's
        score_threshold), merged by NMS."""
        own = self.base.score_threshold  # the base is shared (load_detector caches it)
        self.base.score_threshold = self.score_threshold
        try:
            return [self._detect_one(frame) for frame in checked_frames(frames)]
        finally:
            self.base.score_threshold = own

    def _detect_one(self, frame: np.ndarray) -> list[Detection]:
        images = torch.from_numpy(frame[None]).permute(0, 3, 1, 2).float() / 255.0
        found: list[Detection] = []
        with torch.inference_mode():
            for view, x0, y0 in self._view_inputs(images):
                boxes, scores = self.base.predictions(view)
                side = view.shape[-1]
                found += [Detection((d.box[0] + x0, d.box[1] + y0, d.box[2] + x0, d.box[3] + y0),
                                    d.score, d.class_id, d.class_name)
                          for d in self.base.select(boxes[0], scores[0], (side, side))]
        return _merged(self, found, frame.shape[:2])


class UnionDetector(BoxDetector):
    """The detections any of several models finds (`NAME+NAME`), merged by class-aware NMS, so
    an object one model is unsure of is still found when another sees it. The models must share
    their classes (COCO-80 for every detector vcm has)."""

    def __init__(self, models: Sequence[BoxDetector]) -> None:
        if len(models) < 2 or any(list(m.class_names) != list(models[0].class_names) for m in models):
            raise ValueError("a union needs two or more models with the same classes")
        super().__init__(score_threshold=models[0].score_threshold, nms_iou=models[0].nms_iou)
        self.models = list(models)
        self.name, self.class_names = "+".join(m.name for m in models), models[0].class_names

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [model.predictions(images) for model in self.models]
        return torch.cat([boxes for boxes, _ in outputs], dim=1), torch.cat([s for _, s in outputs], dim=1)

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """Per frame: each model's detections (at this detector's score_threshold), merged by NMS."""
        chunk = checked_frames(frames)
        own = [model.score_threshold for model in self.models]  # the models are shared: restore them
        for model in self.models:
            model.score_threshold = self.score_threshold
        try:
            per_model = [model.detect(chunk) for model in self.models]
        finally:
            for model, threshold in zip(self.models, own, strict=True):
                model.score_threshold = threshold
        return [_merged(self, [d for found in frame for d in found], chunk.shape[1:3])
                for frame in zip(*per_model, strict=True)]


def _merged(detector: BoxDetector, found: list[Detection], frame_hw: tuple[int, int]) -> list[Detection]:
    """Detections from several views or models as one list: class-aware NMS, boxes clipped."""
    if not found:
        return []
    boxes = torch.tensor([d.box for d in found], dtype=torch.float32)
    scores = torch.tensor([d.score for d in found])
    classes = torch.tensor([d.class_id for d in found], dtype=torch.long)
    return detector.suppress(boxes, scores, classes, frame_hw)
