"""Task adapters on a standard codec: HEVC stays frozen and untouched; a small network per task
restores, from the decoded picture, what that task needs (a post-filter for machines).

Pictures are (B, 3, H, W) RGB in [0, 1]; the filter is fully convolutional (any size).
"""

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vcm.codec import encode
from vcm.codec.decoder import decode
from vcm.lic.distortions import TASKS
from vcm.lic.train import PhaseSettings
from vcm.threads import use_cores

HEVC_QPS = (27, 32, 37, 42, 47)  # the HEVC intra rate points, highest rate first
FILTER_TRAIN_QPS = (32, 37, 42, 47)


class PostFilter(nn.Module):
    """x + f(x), f four 3x3 convolutions (32 channels, ReLU); the last starts at zero."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 3, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.body(x)).clamp(0, 1)

    @classmethod
    def from_weights(cls, weights: dict[str, torch.Tensor]) -> "PostFilter":
        network = cls()
        network.load_state_dict(weights)
        return network.eval()


def hevc_intra(frames: Iterable[np.ndarray], qp: int) -> tuple[list[np.ndarray], list[int]]:
    """Code frames as HEVC intra pictures at a uniform QP (the project's encoder) and decode them
    -> (decoded (H, W, 3) uint8 frames, bytes of each coded picture), in the frames' order;
    frames of several sizes are coded as one intra video per size."""
    pictures = list(frames)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, picture in enumerate(pictures):
        by_shape.setdefault(picture.shape, []).append(index)
    decoded: list[np.ndarray] = [pictures[0]] * len(pictures)
    sizes = [0] * len(pictures)
    for indices in by_shape.values():
        found, counts = _hevc_intra_video([pictures[i] for i in indices], qp)
        for index, picture, count in zip(indices, found, counts, strict=True):
            decoded[index], sizes[index] = picture, count
    return decoded, sizes


def _hevc_intra_video(frames: list[np.ndarray], qp: int) -> tuple[list[np.ndarray], list[int]]:
    """hevc_intra of frames of one size."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "intra.mp4"
        result = encode(frames, qp, path, codec="hevc", gop=1)
        video = decode(path, read_qp=False)
    if video.rgb is None or video.picture_types().strip("I"):
        raise RuntimeError(f"HEVC intra coding gave pictures {video.picture_types()!r}")
    return list(video.rgb), [frame.bytes for frame in result.frames]


def train_postfilter(task: str, frames: np.ndarray, checkpoint: Path, settings: PhaseSettings,
                     progress: Callable[[int, int, dict[str, float]], None] | None = None) -> PostFilter:
    """Train the `task` post-filter on (N, H, W, 3) uint8 originals coded at FILTER_TRAIN_QPS;
    the same crop is taken from the original and the decoded picture. Written to `checkpoint`
    when done (short enough not to need resuming)."""
    from vcm.atomic import atomic_output

    use_cores()
    torch.manual_seed(settings.seed)
    generator = np.random.default_rng(settings.seed)
    pairs = [(index, decoded) for qp in FILTER_TRAIN_QPS
             for index, decoded in enumerate(hevc_intra(frames, qp)[0])]
    network = PostFilter()
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    height, width = frames.shape[1:3]
    crop = settings.crop
    for step in range(settings.steps):
        originals, coded = [], []
        for _ in range(settings.batch):
            index, decoded = pairs[generator.integers(len(pairs))]
            top, left = generator.integers(height - crop + 1), generator.integers(width - crop + 1)
            originals.append(frames[index, top:top + crop, left:left + crop])
            coded.append(decoded[top:top + crop, left:left + crop])
        original = torch.from_numpy(np.stack(originals)).permute(0, 3, 1, 2).float() / 255.0
        decoded_batch = torch.from_numpy(np.stack(coded)).permute(0, 3, 1, 2).float() / 255.0
        loss = TASKS[task].distortion(network(decoded_batch), original).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if progress:
            progress(step + 1, settings.steps, {"distortion": float(loss.detach())})
    network.eval()
    with atomic_output(checkpoint) as temporary:
        torch.save({"task": task, "weights": network.state_dict()}, temporary)
    return network

