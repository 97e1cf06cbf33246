"""Build a PyTorch network from a darknet .cfg and load darknet .weights into it.

Covers the layer types of YOLOv3(-tiny): convolutional (with batch norm and leaky
ReLU), maxpool, route, shortcut, upsample and yolo.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.errors import AssetError


def parse_cfg(path: Path) -> list[dict[str, str]]:
    """Darknet cfg -> list of sections, each a dict with key 'type' plus its options."""
    sections: list[dict[str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    if not sections or sections[0]["type"] not in ("net", "network"):
        raise AssetError(f"{path} is not a darknet cfg (no [net] section first)")
    return sections


@dataclass(frozen=True)
class YoloHead:
    """One detection scale: anchors (w, h) in network-input pixels, and the class count."""

    anchors: tuple[tuple[float, float], ...]
    classes: int


class MaxPoolSame(nn.Module):
    """Darknet maxpool: pads right/bottom so stride-1 pooling keeps the size."""

    def __init__(self, size: int, stride: int) -> None:
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x = F.pad(x, (0, self.size - 1, 0, self.size - 1), mode="replicate")
        return F.max_pool2d(x, self.size, self.stride)


class DarknetNet(nn.Module):
    """The network of a darknet cfg. forward: (B, 3, H, W) float in [0, 1] ->
    list of raw yolo-layer outputs, each (B, anchors * (5 + classes), h, w)."""

    def __init__(self, sections: list[dict[str, str]]) -> None:
        super().__init__()
        net = sections[0]
        self.input_size = (int(net.get("width", 416)), int(net.get("height", 416)))
        self.layers = nn.ModuleList()
        self.specs = sections[1:]
        self.heads: list[YoloHead] = []
        channels: list[int] = []
        in_channels = int(net.get("channels", 3))
        for spec in self.specs:
            kind = spec["type"]
            module: nn.Module = nn.Identity()
            out_channels = in_channels
            if kind == "convolutional":
                out_channels = int(spec["filters"])
                size = int(spec["size"])
                padding = size // 2 if int(spec.get("pad", 0)) else 0
                batch_norm = int(spec.get("batch_normalize", 0))
                block = nn.Sequential()
                block.add_module("conv", nn.Conv2d(in_channels, out_channels, size,
                                                   int(spec.get("stride", 1)), padding,
                                                   bias=not batch_norm))
                if batch_norm:
                    block.add_module("bn", nn.BatchNorm2d(out_channels, eps=1e-6))
                activation = spec.get("activation", "linear")
                if activation == "leaky":
                    block.add_module("act", nn.LeakyReLU(0.1))
                elif activation != "linear":
                    raise AssetError(f"unsupported darknet activation {activation!r}")
                module = block
            elif kind == "maxpool":
                module = MaxPoolSame(int(spec["size"]), int(spec["stride"]))
            elif kind == "upsample":
                module = nn.Upsample(scale_factor=int(spec["stride"]), mode="nearest")
            elif kind == "route":
                sources = self._sources(spec["layers"], len(channels))
                out_channels = sum(channels[index] for index in sources)
            elif kind == "shortcut":
                out_channels = channels[-1]
            elif kind == "yolo":
                anchors = [float(v) for v in spec["anchors"].split(",")]
                pairs = list(zip(anchors[0::2], anchors[1::2], strict=True))
                mask = [int(v) for v in spec["mask"].split(",")]
                self.heads.append(YoloHead(tuple(pairs[i] for i in mask), int(spec["classes"])))
            else:
                raise AssetError(f"unsupported darknet layer [{kind}]")
            self.layers.append(module)
            channels.append(out_channels)
            in_channels = out_channels

    @staticmethod
    def _sources(text: str, current: int) -> list[int]:
        return [int(v) + current if int(v) < 0 else int(v) for v in text.split(",")]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs: list[torch.Tensor] = []
        heads: list[torch.Tensor] = []
        for index, (spec, layer) in enumerate(zip(self.specs, self.layers, strict=True)):
            kind = spec["type"]
            if kind == "route":
                x = torch.cat([outputs[i] for i in self._sources(spec["layers"], index)], dim=1)
            elif kind == "shortcut":
                x = x + outputs[self._sources(spec["from"], index)[0]]
            elif kind == "yolo":
                heads.append(x)
            else:
                x = layer(x)
            outputs.append(x)
        return heads

    def load_darknet_weights(self, path: Path) -> None:
        """Load an official darknet .weights file (header, then per conv layer: BN beta,
        gamma, mean, var or bias, then the kernel)."""
        with path.open("rb") as handle:
            major, minor, _revision = np.fromfile(handle, dtype=np.int32, count=3)
            seen_dtype = np.int64 if major * 10 + minor >= 2 else np.int32
            np.fromfile(handle, dtype=seen_dtype, count=1)
            values = torch.from_numpy(np.fromfile(handle, dtype=np.float32))
        offset = 0

        def take(target: torch.Tensor) -> None:
            nonlocal offset
            count = target.numel()
            if offset + count > values.numel():
                raise AssetError(f"{path} is too short for its cfg")
            target.data.copy_(values[offset : offset + count].view_as(target))
            offset += count

        for spec, layer in zip(self.specs, self.layers, strict=True):
            if spec["type"] != "convolutional":
                continue
            conv = layer.conv
            if hasattr(layer, "bn"):
                take(layer.bn.bias)
                take(layer.bn.weight)
                take(layer.bn.running_mean)
                take(layer.bn.running_var)
            else:
                take(conv.bias)
            take(conv.weight)
        if offset != values.numel():
            raise AssetError(f"{path} has {values.numel() - offset} values more than its cfg needs")
