"""One small network per input stream, each with an early exit, and the registry of streams.

Every network is three conv blocks (conv - batch norm - ReLU, twice) with an exit (global
average pool - dropout - linear) after the second block and one after the third. The time axis
of a window is stacked into channels (early fusion), so one window is one 2-D input.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vcm.cdomain.synthetic import ACTIONS, WINDOW

Batch = dict[str, np.ndarray]


def _motion(batch: Batch) -> torch.Tensor:
    """mv (B, T, 2, R, C) pixels -> (B, 2T, R, C), about unit scale."""
    mv = torch.from_numpy(batch["mv"])
    return mv.reshape(mv.shape[0], -1, *mv.shape[3:]) / 4.0


def _residual(batch: Batch) -> torch.Tensor:
    """residual (B, T, R, C) mean squared error -> (B, T, R, C) log scale."""
    return torch.log1p(torch.from_numpy(batch["residual"])) / 4.0


def _intra(batch: Batch) -> torch.Tensor:
    """intra (B, h, w, 3) uint8 -> (B, 3, h, w) in [-0.5, 0.5]."""
    return torch.from_numpy(batch["intra"]).permute(0, 3, 1, 2).float() / 255.0 - 0.5


def _frames(batch: Batch) -> torch.Tensor:
    """frames (B, T, h, w, 3) uint8 -> (B, 3T, h, w) in [-0.5, 0.5]."""
    frames = torch.from_numpy(batch["frames"]).permute(0, 1, 4, 2, 3).float() / 255.0 - 0.5
    return frames.reshape(frames.shape[0], -1, *frames.shape[3:])


@dataclass(frozen=True)
class Stream:
    """A named input: the batch array it reads (`key`), how to turn a batch into a tensor, its
    channels, block widths and strides (block-grid inputs keep full resolution in the first block)."""

    name: str
    key: str
    prepare: Callable[[Batch], torch.Tensor]
    channels: int
    widths: tuple[int, int, int]
    strides: tuple[int, int, int]


STREAMS: dict[str, Stream] = {stream.name: stream for stream in (
    Stream("intra", "intra", _intra, 3, (24, 48, 64), (4, 2, 2)),
    Stream("mv", "mv", _motion, 2 * WINDOW, (24, 48, 64), (1, 2, 2)),
    Stream("residual", "residual", _residual, WINDOW, (24, 48, 64), (1, 2, 2)),
    # the RGB baseline: every decoded picture, about the parameters of all three above together
    Stream("rgb", "frames", _frames, 3 * WINDOW, (40, 80, 112), (4, 2, 2)))}
COMPRESSED_STREAMS = ("intra", "mv", "residual")


def _block(inputs: int, outputs: int, stride: int) -> nn.Sequential:
    """Two convolutions; a stride above 2 makes the first one a non-overlapping stride x stride
    patch embedding (cheap on pictures)."""
    first = (nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False) if stride <= 2
             else nn.Conv2d(inputs, outputs, stride, stride, 0, bias=False))
    return nn.Sequential(first, nn.BatchNorm2d(outputs),
                         nn.ReLU(inplace=True), nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


def _exit(width: int, classes: int) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(width, classes))


class ExitNet(nn.Module):
    """(B, channels, H, W) -> [early (B, classes), final (B, classes)] logits."""

    def __init__(self, stream: Stream, classes: int = len(ACTIONS)) -> None:
        super().__init__()
        first, second, third = stream.widths
        self.blocks = nn.ModuleList([_block(stream.channels, first, stream.strides[0]),
                                     _block(first, second, stream.strides[1]),
                                     _block(second, third, stream.strides[2])])
        self.exits = nn.ModuleList([_exit(second, classes), _exit(third, classes)])

    def forward(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        hidden = self.blocks[1](self.blocks[0](inputs))
        early = self.exits[0](hidden)
        return [early, self.exits[1](self.blocks[2](hidden))]


def parameter_count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
