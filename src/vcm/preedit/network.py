"""The pre-editor: a small convolutional network that decides, pixel by pixel, how much
detail to take out of a frame before it is coded.

The edit is a residual: edited = x + sum_k w_k (blur_k(x) - x), where blur_k are Gaussian
smoothings of the frame (sigmas in SMOOTHING_SIGMAS, pixels) and w = softmax of the
network's logits over [keep, blur_1, ..., blur_K] per pixel, shared by the three colour
channels. So the editor can only remove detail (nothing a coder must then pay for can
be added), and how much, where, is what it learns. The network reads the frame at a
quarter of the resolution (pixel unshuffle: 3 -> 48 channels) with depthwise-separable
convolutions; its logits are upsampled bilinearly to full resolution. The head starts at
zero with a strong bias for "keep", so an untrained pre-editor is the identity on 8-bit
frames.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.errors import InputError

GROUP = 4
DEFAULT_MODEL = "default"
SHIPPED_MODELS = Path(__file__).parent / "models"
SMOOTHING_SIGMAS = (0.6, 1.2, 2.4)
KEEP_BIAS = 8.0  # initial logit of "keep": the blurs start with weight e^-8 each
KEEP_MARGIN = 8  # pixels around a kept box that stay unedited too
NEGLIGIBLE_WEIGHT = 1 / 1024  # at inference, a smoothing weighted below this everywhere is skipped

Box = tuple[float, float, float, float]


def gaussian_blur(rgb: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) -> the same shape, separable Gaussian of `sigma` pixels, edges replicated
    (as weighted sums of shifted copies: faster than a depthwise convolution on CPU)."""
    radius = max(1, int(3 * sigma + 0.5))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-(offsets**2) / (2 * sigma**2))
    taps = (taps / taps.sum()).tolist()
    height, width = rgb.shape[-2:]
    padded = F.pad(rgb, (radius, radius, radius, radius), mode="replicate")
    rows = sum(tap * padded[..., :, index:index + width] for index, tap in enumerate(taps))
    return sum(tap * rows[..., index:index + height, :] for index, tap in enumerate(taps))


class PreEditor(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> edited (B, 3, H, W) in [0, 1] (H, W any size)."""

    def __init__(self, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        self.width, self.depth = width, depth
        layers: list[nn.Module] = [nn.Conv2d(3 * GROUP * GROUP, width, 1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1),
                       nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1 + len(SMOOTHING_SIGMAS), 1)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[0] = KEEP_BIAS

    def blend_weights(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1 + K, H, W) per-pixel weights of [keep, blur_1..K], summing to 1."""
        height, width = rgb.shape[-2:]
        padded = F.pad(rgb, (0, -width % GROUP, 0, -height % GROUP), mode="replicate")
        logits = self.head(self.body(F.pixel_unshuffle(padded, GROUP)))
        logits = F.interpolate(logits, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return torch.softmax(logits[..., :height, :width], dim=1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        weights = self.blend_weights(rgb)
        edited = rgb
        for index, sigma in enumerate(SMOOTHING_SIGMAS, start=1):
            weight = weights[:, index:index + 1]
            # at inference a smoothing that could move no pixel by a quarter level is left out
            if torch.is_grad_enabled() or weight.max() >= NEGLIGIBLE_WEIGHT:
                edited = edited + weight * (gaussian_blur(rgb, sigma) - rgb)
        return edited.clamp(0.0, 1.0)

    @torch.inference_mode()
    def edit_frames(self, frames: np.ndarray, keep: Sequence[Sequence[Box]] | None = None) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> edited (N, H, W, 3) uint8, one frame at a time.
        keep: per frame, boxes (x1, y1, x2, y2 in pixels) left as they are, widened by
        KEEP_MARGIN pixels (e.g. what the detector found on the original)."""
        edited = np.empty_like(frames)
        for index, frame in enumerate(frames):
            image = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255.0
            edited[index] = (self(image)[0].permute(1, 2, 0) * 255.0).round().byte().numpy()
            for box in keep[index] if keep is not None else ():
                rows, cols = _widened(box, frame.shape[0], frame.shape[1])
                edited[index, rows, cols] = frame[rows, cols]
        return edited

    def config(self) -> dict[str, int]:
        return {"width": self.width, "depth": self.depth}


def _widened(box: Box, height: int, width: int) -> tuple[slice, slice]:
    """Row and column slices of a box widened by KEEP_MARGIN and clipped to the frame."""
    x1, y1, x2, y2 = box
    rows = slice(max(int(y1) - KEEP_MARGIN, 0), min(int(np.ceil(y2)) + KEEP_MARGIN, height))
    cols = slice(max(int(x1) - KEEP_MARGIN, 0), min(int(np.ceil(x2)) + KEEP_MARGIN, width))
    return rows, cols


def model_path(model: str | Path) -> Path:
    """The file of a model: DEFAULT_MODEL names the one shipped with vcm, anything else is a path."""
    return SHIPPED_MODELS / "default.pt" if str(model) == DEFAULT_MODEL else Path(model)


def load_preeditor(model: str | Path = DEFAULT_MODEL) -> PreEditor:
    """A trained pre-editor: DEFAULT_MODEL or a model file written by `vcm preedit train`."""
    path = model_path(model)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = PreEditor(**payload["config"])
        network.load_state_dict(payload["weights"])
    except FileNotFoundError:
        hint = " (the shipped model is missing: reinstall vcm)" if str(model) == DEFAULT_MODEL else ""
        raise InputError(f"no such pre-editor model: {path}{hint}") from None
    except Exception as error:  # torch.load of an arbitrary file fails in arbitrary ways
        raise InputError(f"{path} is not a vcm pre-editor model ({type(error).__name__})") from None
    return network.eval()
