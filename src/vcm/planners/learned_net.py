"""The network of the learned planner: per-block QP and keep/paint from one pass.

Inputs, at a quarter of the frame's resolution (the frame padded to whole 16x16 blocks):
RGB, where the targets are, how fragile they are (score headroom) and how small, and the
previous frame's map (QP and kept blocks). Two stride-2 convolutions reach the 16x16
block grid; dilated convolutions there give each block about 30 blocks of context. Out:
per block the QP (in QP units) and the logit that the block is kept (else it is painted).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.codec.qpmap import BLOCK_SIZE, QP_MAX
from vcm.errors import InputError
from vcm.models.detector import Detection

SCALE = 4  # input pixels per network pixel
CHANNELS = 9  # RGB, target, fragility, smallness, previous QP, previous kept, ones
FRAGILE_SPAN = 0.3  # score headroom above min_score at which a target counts as robust
SHIPPED_MODEL = Path(__file__).parent / "models" / "learned.pt"


class PlanNet(nn.Module):
    """(B, CHANNELS, H/4, W/4) -> (B, 2, H/16, W/16): QP and keep logit per block."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.body = nn.Sequential(
            nn.Conv2d(CHANNELS, 24, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(24, width, 3, stride=2, padding=1), nn.ReLU(),
            *(layer for dilation in (1, 2, 4, 8) for layer in (
                nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation), nn.ReLU())),
            nn.Conv2d(width, 2, 1),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.body(inputs)
        return torch.stack([30.0 + 10.0 * out[:, 0], out[:, 1]], dim=1)


def plan_inputs(rgb: np.ndarray, targets: Sequence[Detection], previous_qp: np.ndarray,
                previous_kept: np.ndarray, min_score: float) -> torch.Tensor:
    """(CHANNELS, rows * 4, cols * 4) float inputs for one (H, W, 3) uint8 frame, its targets
    (boxes in pixels) and the previous frame's (rows, cols) block QPs and kept mask."""
    rows, cols = previous_qp.shape
    height, width = rows * BLOCK_SIZE, cols * BLOCK_SIZE
    padded = np.pad(rgb, ((0, height - rgb.shape[0]), (0, width - rgb.shape[1]), (0, 0)), mode="edge")
    image = torch.from_numpy(padded).permute(2, 0, 1).float().div(255.0)[None]
    small = F.avg_pool2d(image, SCALE)[0]
    planes = torch.zeros(3, height // SCALE, width // SCALE)
    for target in targets:
        x1, y1, x2, y2 = (round(v / SCALE) for v in target.box)
        fragility = float(np.clip(1 - (target.score - min_score) / FRAGILE_SPAN, 0, 1))
        smallness = float(np.clip(np.log2(64 / max(target.box[3] - target.box[1], 1.0)) / 4, -1, 1))
        box = (slice(max(y1, 0), max(y2, y1 + 1)), slice(max(x1, 0), max(x2, x1 + 1)))
        planes[0][box] = 1.0
        planes[1][box] = torch.maximum(planes[1][box], torch.tensor(fragility))
        planes[2][box] = torch.maximum(planes[2][box], torch.tensor(smallness))
    previous = torch.from_numpy(np.stack([previous_qp / QP_MAX, previous_kept]).astype(np.float32))
    previous = previous.repeat_interleave(BLOCK_SIZE // SCALE, 1).repeat_interleave(BLOCK_SIZE // SCALE, 2)
    return torch.cat([small, planes, previous, torch.ones(1, *small.shape[1:])])


def save_plan_net(network: PlanNet, path: Path, about: dict[str, object]) -> None:
    """Write the weights, the network's width and `about` (how it was trained) to `path`."""
    torch.save({"config": {"width": network.width}, "weights": network.state_dict(), "about": about}, path)


def load_plan_net(path: str | Path | None = None) -> PlanNet:
    """The shipped learned planner (path None) or one written by `vcm distil`."""
    path = SHIPPED_MODEL if path is None else Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = PlanNet(**payload["config"])
        network.load_state_dict(payload["weights"])
    except FileNotFoundError:
        raise InputError(f"no such learned-planner model: {path}") from None
    except Exception as error:  # torch.load of an arbitrary file fails in arbitrary ways
        raise InputError(f"{path} is not a vcm learned-planner model ({type(error).__name__})") from None
    return network.eval()
