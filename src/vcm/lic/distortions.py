"""Registry of the pictures the learned codec decodes (one for people, one per machine task),
each with the distortion its decoder is trained with. The machine tasks themselves (their
models and operating scores) are vcm.tasks; these are the codec's training objectives.

A distortion maps (decoded, original) pictures (B, 3, H, W) RGB in [0, 1] to (B,) values on
the scale of 255^2 MSE, so bpp + lambda x distortion trades rate the same way for every task.
The machine-task weights were set once so that each term is about the size of the 255^2 MSE
term on base-decoded training crops at the middle quality (`vcm lic train` prints both).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F

from vcm.models.efficientnet_lite import load_efficientnet_lite0
from vcm.preedit.losses import score_map_distance
from vcm.registry import Registry

DETECT_WEIGHT = 5000.0
CLASSIFY_WEIGHT = 50.0
DETECTOR_SCALE = 0.5  # training crops are shown to the detector at about the evaluation's scale
PICTURE_WEIGHT = 0.1  # a machine task's picture must still look like the scene


@dataclass(frozen=True)
class Distortion:
    """name: the picture's name (`vcm lic decode --task`); distortion(decoded, original) -> (B,)."""

    name: str
    description: str
    distortion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def human_distortion(decoded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """255^2 MSE per image -> (B,)."""
    return (decoded - original).pow(2).mean(dim=(1, 2, 3)) * 255.0 ** 2


@cache
def _detector():
    from vcm.models.yolo import YoloV3Tiny

    return YoloV3Tiny()


def detect_distortion(decoded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """YOLOv3-tiny class-score maps of decoded vs original (weighted by the original's
    scores), plus a little picture MSE -> (B,). Both are halved first, as the detector sees
    a 768x576 frame at its 416x416 input (side a multiple of 64)."""
    def halved(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=DETECTOR_SCALE, mode="bilinear", align_corners=False)

    small_decoded, small_original = halved(decoded), halved(original)
    task = torch.stack([score_map_distance(_detector(), small_decoded[i:i + 1], small_original[i:i + 1])
                        for i in range(len(decoded))])
    return DETECT_WEIGHT * task + PICTURE_WEIGHT * human_distortion(decoded, original)


def classify_distortion(decoded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """KL divergence of EfficientNet-Lite0's ImageNet class distribution on decoded from that
    on original, plus a little picture MSE -> (B,)."""
    network = load_efficientnet_lite0()
    with torch.no_grad():
        reference = F.log_softmax(network.logits(original), dim=1)
    found = F.log_softmax(network.logits(decoded), dim=1)
    kl = (reference.exp() * (reference - found)).sum(dim=1)
    return CLASSIFY_WEIGHT * kl + PICTURE_WEIGHT * human_distortion(decoded, original)


TASKS: Registry[Distortion] = Registry("task")
for _distortion in (
        Distortion("human", "people: pixel fidelity (MSE)", human_distortion),
        Distortion("detect", "object detection (YOLOv3-tiny, COCO)", detect_distortion),
        Distortion("classify", "ImageNet classification (EfficientNet-Lite0)", classify_distortion)):
    TASKS.register(_distortion.name, _distortion)
MACHINE_TASKS = tuple(name for name in TASKS if name != "human")
