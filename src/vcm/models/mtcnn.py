"""MTCNN face detector (Zhang et al. 2016) in PyTorch: a proposal net over an image
pyramid, a refine net and an output net with five landmarks.

The weights are the pretrained MTCNN state dicts shipped in facenet-pytorch's wheel
(fetched by vcm.models.face_weights); this module is the project's own
implementation of the three networks and the cascade around them.
"""


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.models.face_weights import fetch_mtcnn
from vcm.models.faces import Face
from vcm.threads import use_cores

PYRAMID_FACTOR = 0.709
PROPOSAL_STRIDE, PROPOSAL_CELL = 2, 12


class ProposalNet(nn.Module):
    """P-Net: fully convolutional; per 12x12 window a face probability and a box offset."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) normalised -> probabilities (B, 2, h, w), offsets (B, 4, h, w)."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return F.softmax(self.conv4_1(x), dim=1), self.conv4_2(x)


class RefineNet(nn.Module):
    """R-Net: 24x24 crops -> face probability and box offset."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, 24, 24) -> probabilities (B, 2), offsets (B, 4)."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))  # weights are Caffe (W, H) order
        return F.softmax(self.dense5_1(x), dim=1), self.dense5_2(x)


class OutputNet(nn.Module):
    """O-Net: 48x48 crops -> face probability, box offset and five landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 3, 48, 48) -> probabilities (B, 2), offsets (B, 4), landmarks (B, 10) as
        five x then five y, relative to the crop."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return F.softmax(self.dense6_1(x), dim=1), self.dense6_2(x), self.dense6_3(x)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, *, by_min: bool = False) -> np.ndarray:
    """Greedy non-maximum suppression. boxes (N, 4) x1, y1, x2, y2 (inclusive pixel
    convention); overlap is intersection over union, or over the smaller box (by_min).
    Returns the indices kept, best first."""
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        width = np.maximum(0.0, np.minimum(boxes[best, 2], boxes[rest, 2])
                           - np.maximum(boxes[best, 0], boxes[rest, 0]) + 1)
        height = np.maximum(0.0, np.minimum(boxes[best, 3], boxes[rest, 3])
                            - np.maximum(boxes[best, 1], boxes[rest, 1]) + 1)
        inter = width * height
        base = np.minimum(areas[best], areas[rest]) if by_min else areas[best] + areas[rest] - inter
        order = rest[inter / base <= threshold]
    return np.asarray(kept, dtype=np.int64)


def _apply_offsets(boxes: np.ndarray, offsets: np.ndarray, *, inclusive: bool = True) -> np.ndarray:
    """Shift (N, 4) box corners by (N, 4) offsets in units of the box size."""
    pad = 1.0 if inclusive else 0.0
    width = boxes[:, 2] - boxes[:, 0] + pad
    height = boxes[:, 3] - boxes[:, 1] + pad
    return boxes + offsets * np.stack([width, height, width, height], axis=1)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow (N, 4) boxes to squares around their centres."""
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    x1 = boxes[:, 0] + width / 2 - side / 2
    y1 = boxes[:, 1] + height / 2 - side / 2
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1)


class Mtcnn:
    """The MTCNN cascade. min_face: smallest face searched for (pixels; 12, P-Net's window,
    reaches below the smallest recognisable face); thresholds: the face probability each
    stage needs."""

    def __init__(self, *, min_face: int = 12, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 min_score: float = 0.9) -> None:
        paths = fetch_mtcnn()
        self.proposal, self.refine, self.output = ProposalNet(), RefineNet(), OutputNet()
        for net, name in ((self.proposal, "pnet.pt"), (self.refine, "rnet.pt"), (self.output, "onet.pt")):
            net.load_state_dict(torch.load(paths[name], map_location="cpu", weights_only=True))
            net.eval()
        self.min_face, self.thresholds, self.min_score = min_face, thresholds, min_score
        use_cores()

    @torch.inference_mode()
    def detect_faces(self, frame: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> faces with score >= min_score, best first."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
        image = (torch.tensor(frame, dtype=torch.float32).permute(2, 0, 1)[None] - 127.5) / 128.0
        boxes = self._propose(image)
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return []
        boxes, scores, landmarks = self._output(image, boxes)
        return [Face(tuple(float(v) for v in box), float(score),
                     tuple((float(x), float(y)) for x, y in points))
                for box, score, points in zip(boxes, scores, landmarks, strict=True)
                if score >= self.min_score]

    def _scales(self, height: int, width: int) -> list[float]:
        scale = PROPOSAL_CELL / self.min_face
        side = min(height, width) * scale
        scales = []
        while side >= PROPOSAL_CELL:
            scales.append(scale)
            scale *= PYRAMID_FACTOR
            side *= PYRAMID_FACTOR
        return scales

    def _propose(self, image: torch.Tensor) -> np.ndarray:
        """P-Net over the pyramid -> (N, 4) square candidate boxes."""
        height, width = image.shape[-2:]
        found = []
        for scale in self._scales(height, width):
            size = (int(height * scale + 1), int(width * scale + 1))
            resized = F.interpolate(image, size=size, mode="area")
            probs, offsets = self.proposal(resized)
            face = probs[0, 1].numpy()
            ys, xs = np.nonzero(face >= self.thresholds[0])
            if not len(ys):
                continue
            cells = np.stack([xs, ys], axis=1).astype(np.float64)
            top_left = np.floor((PROPOSAL_STRIDE * cells + 1) / scale)
            bottom_right = np.floor((PROPOSAL_STRIDE * cells + PROPOSAL_CELL) / scale)
            boxes = np.concatenate([top_left, bottom_right], axis=1)
            scores = face[ys, xs]
            shifts = offsets[0].numpy()[:, ys, xs].T
            keep = nms(boxes, scores, 0.5)
            found.append(np.concatenate([boxes[keep], scores[keep, None], shifts[keep]], axis=1))
        if not found:
            return np.zeros((0, 4))
        stacked = np.concatenate(found)
        stacked = stacked[nms(stacked[:, :4], stacked[:, 4], 0.7)]
        return _square(_apply_offsets(stacked[:, :4], stacked[:, 5:9], inclusive=False))

    def _crops(self, image: torch.Tensor, boxes: np.ndarray, size: int) -> tuple[torch.Tensor, np.ndarray]:
        """Crop each box (clipped to the image) and resize to size x size. Returns the
        crops (M, 3, size, size) and the indices of the boxes that had pixels."""
        height, width = image.shape[-2:]
        crops, valid = [], []
        for index, (x1, y1, x2, y2) in enumerate(np.trunc(boxes).astype(np.int64)):
            left, top = max(x1, 1) - 1, max(y1, 1) - 1
            right, bottom = min(x2, width), min(y2, height)
            if right <= left or bottom <= top:
                continue
            crops.append(F.interpolate(image[:, :, top:bottom, left:right], size=(size, size), mode="area"))
            valid.append(index)
        if not crops:
            return torch.zeros((0, 3, size, size)), np.zeros(0, dtype=np.int64)
        return torch.cat(crops), np.asarray(valid)

    def _refine(self, image: torch.Tensor, boxes: np.ndarray) -> np.ndarray:
        crops, valid = self._crops(image, boxes, 24)
        if not len(valid):
            return np.zeros((0, 4))
        probs, offsets = self.refine(crops)
        scores = probs[:, 1].numpy()
        passed = scores > self.thresholds[1]
        boxes, scores, offsets = boxes[valid][passed], scores[passed], offsets.numpy()[passed]
        keep = nms(boxes, scores, 0.7)
        return _square(_apply_offsets(boxes[keep], offsets[keep]))

    def _output(self, image: torch.Tensor, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        crops, valid = self._crops(image, boxes, 48)
        if not len(valid):
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        probs, offsets, points = self.output(crops)
        scores = probs[:, 1].numpy()
        passed = scores > self.thresholds[2]
        boxes, scores = boxes[valid][passed], scores[passed]
        offsets, points = offsets.numpy()[passed], points.numpy()[passed]
        width = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        height = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        landmarks = np.stack([boxes[:, :1] + width * points[:, :5] - 1,
                              boxes[:, 1:2] + height * points[:, 5:] - 1], axis=2)
        boxes = _apply_offsets(boxes, offsets)
        keep = nms(boxes, scores, 0.7, by_min=True)
        return boxes[keep], scores[keep], landmarks[keep]

