"""The pre-editor: a small convolutional network that predicts a residual edit of a frame.

It works at a quarter of the resolution on 4x4 pixel groups (pixel unshuffle: 3 -> 48
channels), with depthwise-separable convolutions, and shuffles the edit back to full
resolution. The last layer starts at zero, so an untrained pre-editor is the identity.
"""

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.errors import InputError

GROUP = 4


class PreEditor(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> edited (B, 3, H, W) in [0, 1] (H, W any size; padded
    to multiples of 4 internally)."""

    def __init__(self, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        channels = 3 * GROUP * GROUP
        self.width, self.depth = width, depth
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1),
                       nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, channels, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        height, width = rgb.shape[-2:]
        padded = F.pad(rgb, (0, -width % GROUP, 0, -height % GROUP), mode="replicate")
        edit = F.pixel_shuffle(self.head(self.body(F.pixel_unshuffle(padded, GROUP))), GROUP)
        return (padded + edit).clamp(0.0, 1.0)[..., :height, :width]

    @torch.inference_mode()
    def edit_frames(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> edited (N, H, W, 3) uint8, one frame at a time."""
        edited = np.empty_like(frames)
        for index, frame in enumerate(frames):
            image = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255.0
            edited[index] = (self(image)[0].permute(1, 2, 0) * 255.0).round().byte().numpy()
        return edited

    def config(self) -> dict[str, int]:
        return {"width": self.width, "depth": self.depth}


def load_preeditor(path: str | Path) -> PreEditor:
    """A trained pre-editor from a model file written by `vcm preedit train`."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = PreEditor(**payload["config"])
        network.load_state_dict(payload["weights"])
    except FileNotFoundError:
        raise InputError(f"no such pre-editor model: {path}") from None
    except (KeyError, RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise InputError(f"{path} is not a vcm pre-editor model ({error})") from None
    return network.eval()
