"""Train the pre-editor through the codec proxy on CPU, with resumable checkpoints.

Each step takes random crops of training frames, edits them, codes the edit with the
differentiable proxy at a random QP per crop, and minimises

    rate x ln(bits/pixel) + fidelity x (L1 + 1 - luma MS-SSIM) + perceptual x EfficientNet-Lite0
    feature distance + task x detector output distance,

every term comparing the coded edit with the original crop. The detector runs fully
convolutionally on the crop (no resize), so its class scores compare cell by cell, each
weighted by the original's score there.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcm.atomic import atomic_output
from vcm.codec.qpmap import QP_MAX
from vcm.errors import InputError
from vcm.eval.metrics import ms_ssim
from vcm.media import FrameSource
from vcm.models.detector import Detector
from vcm.models.efficientnet_lite import load_efficientnet_lite0
from vcm.preedit.losses import LossWeights, feature_distance, score_map_distance
from vcm.preedit.network import PreEditor
from vcm.preedit.proxy import BLOCK, ProxyOutput, proxy_code, proxy_code_inter, rgb_to_ycbcr

# The head's bias sets the global mix of keep vs blur; it starts far from a blur (identity
# at init) and needs a faster learning rate to get anywhere in a few hundred steps.
HEAD_BIAS_LR_SCALE = 25.0

Progress = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainConfig:
    """steps: optimiser steps; batch, crop: crops per step and their side (pixels, a multiple
    of 16); qp_range: the proxy's QP is drawn uniformly from it (inclusive) per crop; checkpoint_every:
    steps between checkpoints; quantizer_sharpness: the proxy quantiser's soft gradient (None:
    straight-through, which rewards re-adding detail the coder then throws away); pool: frames
    sampled from the inputs; p_frames: the rate counted is that of a GOP of one I-frame and
    p_frames P-frames, trained on pairs of consecutive frames (0: intra pictures only)."""

    steps: int = 500
    batch: int = 8
    crop: int = 128
    learning_rate: float = 5e-3
    qp_range: tuple[int, int] = (22, 42)
    weights: LossWeights = field(default_factory=LossWeights)
    checkpoint_every: int = 50
    seed: int = 0
    quantizer_sharpness: float | None = 3.0
    pool: int = 128
    p_frames: int = 0

    def __post_init__(self) -> None:
        low, high = self.qp_range
        if self.p_frames < 0:
            raise ValueError(f"p_frames must be at least 0, got {self.p_frames}")
        for name in ("steps", "batch", "checkpoint_every", "pool"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.crop < 32 or self.crop % BLOCK:
            raise ValueError(f"crop must be a multiple of {BLOCK} of at least 32, got {self.crop}")
        if not 0 <= low <= high <= QP_MAX:
            raise ValueError(f"the QP range must satisfy 0 <= LOW <= HIGH <= {QP_MAX}, got {low} {high}")
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"the learning rate must be positive and finite, got {self.learning_rate}")


def training_frames(paths: Sequence[str | Path], start: int = 0, stride: int = 1, pool: int = 128,
                    seed: int = 0, pairs: bool = False) -> list[np.ndarray]:
    """A uniform random sample of at most `pool` frames among frames start, start + stride, ...
    of every video or image, read as a stream (reservoir sampling: memory holds `pool`
    frames whatever the inputs' length) -> (H, W, 3) uint8 frames in input order (inputs may
    differ in size); with `pairs`, each frame stacked with the next one, (H, W, 6)."""
    generator = np.random.default_rng(seed)
    kept: list[tuple[int, np.ndarray]] = []
    seen = 0
    for path in paths:
        with FrameSource(path) as source:
            previous = None
            for index, frame in enumerate(source):
                picture_index, picture = index, frame
                if pairs:
                    picture_index = index - 1
                    picture = None if previous is None else np.concatenate([previous, frame], axis=2)
                    previous = frame
                if picture is None or picture_index < start or (picture_index - start) % stride:
                    continue
                if len(kept) < pool:
                    kept.append((seen, picture))
                else:
                    slot = int(generator.integers(0, seen + 1))
                    if slot < pool:
                        kept[slot] = (seen, picture)
                seen += 1
    if not kept:
        needs = "videos of at least two frames; " if pairs else ""
        raise InputError(f"no training frames ({needs}check --start/--stride against the inputs' lengths)")
    return [frame for _, frame in sorted(kept, key=lambda item: item[0])]


def random_crops(frames: Sequence[np.ndarray] | np.ndarray, batch: int, crop: int,
                 generator: np.random.Generator) -> torch.Tensor:
    """(batch, C, crop, crop) float crops in [0, 1] at random places of random (H, W, C) uint8
    frames (of any sizes of at least crop x crop; C = 3, or 6 for two consecutive frames),
    randomly mirrored."""
    small = next((frame.shape for frame in frames if min(frame.shape[:2]) < crop), None)
    if small is not None:
        raise InputError(f"frames of {small[1]}x{small[0]} are smaller than the {crop} px training crop")
    crops = []
    for _ in range(batch):
        frame = frames[generator.integers(len(frames))]
        height, width = frame.shape[:2]
        top, left = generator.integers(height - crop + 1), generator.integers(width - crop + 1)
        patch = frame[top:top + crop, left:left + crop]
        crops.append(patch[:, ::-1] if generator.random() < 0.5 else patch)
    return torch.from_numpy(np.ascontiguousarray(np.stack(crops))).permute(0, 3, 1, 2).float() / 255.0


def frames_of(images: torch.Tensor) -> torch.Tensor:
    """(B, 3F, H, W) F frames stacked in channels -> (B F, 3, H, W)."""
    return images.reshape(-1, 3, *images.shape[-2:])


class Objective:
    """The training loss; `terms` returns every term per batch (means) and the total.
    p_frames = 0: crops (B, 3, H, W) are coded as intra pictures. p_frames = P > 0: crops are
    two consecutive frames (B, 6, H, W); the first is coded intra, the second as a P-frame
    predicted from it, and the rate is that of a GOP of one I and P such P-frames."""

    def __init__(self, detector: Detector, weights: LossWeights, sharpness: float | None = None,
                 p_frames: int = 0) -> None:
        self.detector, self.weights, self.sharpness, self.p_frames = detector, weights, sharpness, p_frames
        self.perceptual = load_efficientnet_lite0() if weights.perceptual > 0 else None

    def task_distance(self, coded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        return score_map_distance(self.detector, coded, original)

    def code(self, edited: torch.Tensor, qp: torch.Tensor) -> ProxyOutput:
        """Proxy coding of the edited crops: rgb (B, 3F, H, W), luma (B F, 1, H, W), bits per
        frame of the GOP (B,)."""
        if self.p_frames == 0:
            return proxy_code(edited, qp, self.sharpness)
        intra = proxy_code(edited[:, :3], qp, self.sharpness)
        inter = proxy_code_inter(edited[:, 3:], intra.rgb, qp, self.sharpness)
        bits = (intra.bits + self.p_frames * inter.bits) / (1 + self.p_frames)
        luma = torch.stack([intra.luma, inter.luma], dim=1).reshape(-1, 1, *edited.shape[-2:])
        return ProxyOutput(rgb=torch.cat([intra.rgb, inter.rgb], dim=1), bits=bits, luma=luma)

    def terms(self, original: torch.Tensor, edited: torch.Tensor,
              qp: torch.Tensor) -> dict[str, torch.Tensor]:
        coded = self.code(edited, qp)
        pixels = original.shape[-1] * original.shape[-2]
        bits_per_pixel = coded.bits / pixels
        original_luma = rgb_to_ycbcr(frames_of(original))[:, :1] / 255.0
        fidelity = ((coded.rgb - original).abs().mean()
                    + (1 - ms_ssim(coded.luma / 255.0, original_luma)).mean())
        coded_frames, original_frames = frames_of(coded.rgb), frames_of(original)
        perceptual = (feature_distance(self.perceptual.features, coded_frames, original_frames).mean()
                      if self.perceptual is not None else torch.zeros(()))
        task = (self.task_distance(coded_frames, original_frames) if self.weights.task > 0
                else torch.zeros(()))
        w = self.weights
        total = (w.rate * torch.log(bits_per_pixel).mean() + w.fidelity * fidelity
                 + w.perceptual * perceptual + w.task * task)
        return {"total": total, "bpp": bits_per_pixel.mean(), "fidelity": fidelity, "perceptual": perceptual,
                "task": task}


def save_checkpoint(path: Path, network: PreEditor, optimizer: torch.optim.Optimizer, step: int,
                    config: TrainConfig, history: list[dict[str, float]], detector: str) -> None:
    """Model and training state in one file, written atomically (`detector`: the name of the
    detector of the task term)."""
    payload = {"config": network.config(), "weights": network.state_dict(), "step": step,
               "optimizer": optimizer.state_dict(), "train": asdict(config), "history": history,
               "detector": detector}
    with atomic_output(path) as temporary:
        torch.save(payload, temporary)


def train(frames: Sequence[np.ndarray] | np.ndarray, out: Path, detector: Detector,
          config: TrainConfig | None = None, progress: Progress | None = None,
          network: PreEditor | None = None) -> list[dict[str, float]]:
    """Train on (H, W, 3) uint8 frames, or with config.p_frames > 0 on (H, W, 6) pairs of
    consecutive frames (any sizes of at least the crop); checkpoints to `out` and resumes from
    it when it holds an unfinished run of the same settings. Returns the loss history (one
    entry per checkpoint: step and mean terms since the last one)."""
    config = config or TrainConfig()
    channels = 6 if config.p_frames else 3
    if any(frame.shape[2] != channels for frame in frames):
        raise InputError(f"training with p_frames={config.p_frames} takes frames of {channels} channels")
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(config.seed)
    network = network or PreEditor()
    optimizer = torch.optim.Adam(
        [{"params": [p for n, p in network.named_parameters() if n != "head.bias"]},
         {"params": [network.head.bias], "lr": config.learning_rate * HEAD_BIAS_LR_SCALE}],
        lr=config.learning_rate)
    step, history = 0, []
    if out.exists():
        state = training_state(out)
        if "optimizer" not in state or _comparable(state.get("train", {})) != _comparable(asdict(config)):
            raise InputError(f"{out} holds a model trained with other settings; choose another --out")
        if state.get("detector", detector.name) != detector.name:
            raise InputError(f"{out} holds a model trained with the {state['detector']} detector's task "
                             f"term, not {detector.name}'s; choose another --out or --detector")
        network.load_state_dict(state["weights"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
    generator = np.random.default_rng([config.seed, step])
    objective = Objective(detector, config.weights, config.quantizer_sharpness, config.p_frames)
    running: dict[str, list[float]] = {}
    network.train()
    while step < config.steps:
        original = random_crops(frames, config.batch, config.crop, generator)
        qp = torch.from_numpy(generator.integers(config.qp_range[0], config.qp_range[1] + 1, config.batch))
        blocks = config.crop // BLOCK
        qp_maps = qp.float()[:, None, None].expand(-1, blocks, blocks)
        terms = objective.terms(original, network(frames_of(original)).reshape(original.shape), qp_maps)
        optimizer.zero_grad()
        terms["total"].backward()
        optimizer.step()
        step += 1
        values = {name: float(value.detach()) for name, value in terms.items()}
        for name, value in values.items():
            running.setdefault(name, []).append(value)
        if progress:
            progress(step, config.steps, values)
        if step % config.checkpoint_every == 0 or step == config.steps:
            means = {name: round(float(np.mean(values)), 5) for name, values in running.items()}
            history.append({"step": step, **means})
            running = {}
            save_checkpoint(out, network, optimizer, step, config, history, detector.name)
    network.eval()
    return history


def training_state(path: Path) -> dict[str, Any]:
    """The checkpoint in `path`; InputError when it is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load of an arbitrary file fails in arbitrary ways
        raise InputError(f"{path} exists and is not a vcm pre-editor model ({type(error).__name__}); "
                         "choose another --out") from None
    if not isinstance(state, dict) or not {"weights", "step", "history"} <= set(state):
        raise InputError(f"{path} exists and is not a vcm pre-editor checkpoint; choose another --out")
    return state


def _comparable(settings: dict[str, object]) -> dict[str, object]:
    """The settings that must match to resume (the step count may grow)."""
    kept = {k: v for k, v in settings.items() if k not in ("steps", "checkpoint_every")}
    kept = {k: list(v) if isinstance(v, tuple) else v for k, v in kept.items()}
    kept.setdefault("pool", TrainConfig.pool)
    kept.setdefault("p_frames", 0)
    return kept
