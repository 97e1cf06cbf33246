"""YOLOv3-tiny (COCO-80) in PyTorch, loading the official darknet weights.

Frames are resized (bilinear, no letterbox) to the 416x416 network input, as
OpenCV's blobFromImage does, so outputs match OpenCV's darknet reader.
"""


import torch
import torch.nn.functional as F

from vcm.models.darknet import DarknetNet, YoloHead, parse_cfg
from vcm.models.detector import BoxDetector
from vcm.models.weights import coco_names, fetch_yolov3_tiny
from vcm.threads import use_cores


class YoloV3Tiny(BoxDetector):
    """The YOLOv3-tiny detector. Thresholds: score = objectness * class probability."""

    name = "yolov3-tiny"

    def __init__(self, *, score_threshold: float = 0.25, nms_iou: float = 0.45,
                 batch_size: int = 1) -> None:
        super().__init__(score_threshold=score_threshold, nms_iou=nms_iou)
        files = fetch_yolov3_tiny()
        self.net = DarknetNet(parse_cfg(files.cfg))
        self.net.load_darknet_weights(files.weights)
        self.net.eval()
        # NHWC: oneDNN's CPU convolutions run about 30 % faster on it (measured, 2 cores)
        self.net.to(memory_format=torch.channels_last)
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        self.class_names = coco_names()
        self.batch_size = batch_size
        use_cores()

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


def _cells(raw: torch.Tensor, head: YoloHead) -> torch.Tensor:
    """A yolo layer's raw output (B, anchors * (5 + classes), rows, cols) -> (B, anchors, rows,
    cols, 5 + classes)."""
    batch, _, rows, cols = raw.shape
    return raw.view(batch, len(head.anchors), 5 + head.classes, rows, cols).permute(0, 1, 3, 4, 2)


def _class_scores(cells: torch.Tensor) -> torch.Tensor:
    """(..., 5 + classes) raw cells -> (..., classes) objectness * class probability."""
    return torch.sigmoid(cells[..., 4:5]) * torch.sigmoid(cells[..., 5:])
