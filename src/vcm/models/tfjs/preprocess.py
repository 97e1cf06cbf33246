"""Frame preparation shared by the TF.js models: TensorFlow's resize, then each model's scaling."""

import torch

from vcm.models.tfjs.ops import resize_bilinear


def resize_nhwc(images: torch.Tensor, size: tuple[int, int], *, half_pixel: bool = False) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, h, w, 3) RGB in [0, 255], resized as TensorFlow's
    resizeBilinear does (legacy sampling unless half_pixel), differentiably. size: (h, w)."""
    pixels = images.permute(0, 2, 3, 1) * 255.0
    attrs = {"align_corners": {"b": False}, "half_pixel_centers": {"b": half_pixel}}
    return resize_bilinear(attrs, [pixels, torch.tensor(size)])[0]
