"""YOLOv3-tiny (COCO-80) in PyTorch, loading the official darknet weights.

Frames are resized (bilinear, no letterbox) to the 416x416 network input, as
OpenCV's blobFromImage does, so outputs match OpenCV's darknet reader.
"""

import os
from collections.abc import Sequence
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from vcm.models.darknet import DarknetNet, YoloHead, parse_cfg
from vcm.models.detector import Detection
from vcm.models.weights import fetch_yolov3_tiny


class YoloV3Tiny:
    """The YOLOv3-tiny detector. Thresholds: score = objectness * class probability."""

    def __init__(self, *, score_threshold: float = 0.25, nms_iou: float = 0.45,
                 batch_size: int = 1) -> None:
        files = fetch_yolov3_tiny()
        self.net = DarknetNet(parse_cfg(files.cfg))
        self.net.load_darknet_weights(files.weights)
        self.net.eval()
        # NHWC: oneDNN's CPU convolutions run about 30 % faster on it (measured, 2 cores)
        self.net.to(memory_format=torch.channels_last)
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        self.class_names = [line.strip() for line in files.names.read_text().splitlines()
                            if line.strip()]
        self.score_threshold, self.nms_iou, self.batch_size = score_threshold, nms_iou, batch_size
        torch.set_num_threads(os.cpu_count() or 1)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.net.input_size

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) float RGB in [0, 1] -> boxes (B, P, 4) as x1, y1, x2, y2 in input
        pixels and class scores (B, P, 80) = objectness * class probability."""
        height, width = images.shape[-2:]
        net_w, net_h = self.input_size
        resized = F.interpolate(images, size=(net_h, net_w), mode="bilinear", align_corners=False)
        resized = resized.contiguous(memory_format=torch.channels_last)
        boxes, scores = [], []
        for raw, head in zip(self.net(resized), self.net.heads, strict=True):
            grid = _cells(raw, head)
            batch, anchors, rows, cols, _ = grid.shape
            ys, xs = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
            anchor_wh = torch.tensor(head.anchors).view(1, anchors, 1, 1, 2)
            centre_x = (torch.sigmoid(grid[..., 0]) + xs) / cols * width
            centre_y = (torch.sigmoid(grid[..., 1]) + ys) / rows * height
            box_w = torch.exp(grid[..., 2]) * anchor_wh[..., 0] / net_w * width
            box_h = torch.exp(grid[..., 3]) * anchor_wh[..., 1] / net_h * height
            corners = torch.stack([centre_x - box_w / 2, centre_y - box_h / 2,
                                   centre_x + box_w / 2, centre_y + box_h / 2], dim=-1)
            class_scores = _class_scores(grid)
            boxes.append(corners.reshape(batch, -1, 4))
            scores.append(class_scores.reshape(batch, -1, head.classes))
        return torch.cat(boxes, dim=1), torch.cat(scores, dim=1)

    def score_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1], run as they are (no resize) -> per output scale the
        class scores (B, anchors, H / stride, W / stride, 80), objectness * class probability."""
        images = images.contiguous(memory_format=torch.channels_last)
        return [_class_scores(_cells(raw, head)) for raw, head in zip(self.net(images), self.net.heads,
                                                                       strict=True)]

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """(N, H, W, 3) uint8 RGB frames -> per frame its detections, best first."""
        results: list[list[Detection]] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = np.stack(frames[start : start + self.batch_size])
            images = torch.from_numpy(chunk).permute(0, 3, 1, 2).float() / 255.0
            with torch.inference_mode():
                boxes, scores = self.predictions(images)
            results.extend(self._select(boxes[i], scores[i], chunk.shape[1:3])
                           for i in range(len(chunk)))
        return results

    def _select(self, boxes: torch.Tensor, scores: torch.Tensor,
                frame_hw: tuple[int, int]) -> list[Detection]:
        best, class_ids = scores.max(dim=1)
        keep = best >= self.score_threshold
        boxes, best, class_ids = boxes[keep], best[keep], class_ids[keep]
        kept = class_aware_nms(boxes, best, class_ids, self.nms_iou)
        height, width = frame_hw
        limits = torch.tensor([width, height, width, height], dtype=boxes.dtype)
        boxes = torch.minimum(boxes.clamp(min=0), limits)
        return [Detection(box=tuple(float(v) for v in boxes[i]), score=float(best[i]),
                          class_id=int(class_ids[i]), class_name=self.class_names[class_ids[i]])
                for i in kept]

    def target_score(self, image: torch.Tensor, box: Sequence[float], class_id: int) -> torch.Tensor:
        """Differentiable score of class `class_id` for the object at `box`.

        image: (3, H, W) float RGB in [0, 1]; box: (x1, y1, x2, y2) pixels. Returns the
        largest class score among predictions, each weighted by its overlap with `box`
        (weight 1 at IoU >= 0.5, else the IoU), so only that class and box contribute.
        """
        boxes, scores = self.predictions(image.unsqueeze(0))
        overlap = pairwise_iou(boxes[0], torch.tensor([list(box)], dtype=boxes.dtype))[:, 0]
        weight = torch.where(overlap >= 0.5, torch.ones_like(overlap), overlap).detach()
        return (scores[0, :, class_id] * weight).max()


def _cells(raw: torch.Tensor, head: YoloHead) -> torch.Tensor:
    """A yolo layer's raw output (B, anchors * (5 + classes), rows, cols) -> (B, anchors, rows,
    cols, 5 + classes)."""
    batch, _, rows, cols = raw.shape
    return raw.view(batch, len(head.anchors), 5 + head.classes, rows, cols).permute(0, 1, 3, 4, 2)


def _class_scores(cells: torch.Tensor) -> torch.Tensor:
    """(..., 5 + classes) raw cells -> (..., classes) objectness * class probability."""
    return torch.sigmoid(cells[..., 4:5]) * torch.sigmoid(cells[..., 5:])


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


@cache
def load_detector(name: str = "yolov3-tiny") -> YoloV3Tiny:
    """The named detector, built once per process."""
    if name != "yolov3-tiny":
        raise ValueError(f"unknown detector {name!r}; available: yolov3-tiny")
    return YoloV3Tiny()
