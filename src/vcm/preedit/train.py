"""Train the pre-editor through the codec proxy on CPU, with resumable checkpoints.

Each step takes random crops of training frames, edits them, codes the edit with the
differentiable proxy at a random QP per crop, and minimises

    rate x ln(bits/pixel) + fidelity x (L1 + 1 - luma MS-SSIM) + perceptual x EfficientNet-Lite0
    feature distance + task x detector output distance + vmaf x (100 - VMAF-NEG) / 100
    (+ stability x the edit's change between consecutive frames, when trained on pairs),

every term comparing the coded edit with the original crop. The detector runs fully
convolutionally on the crop (no resize), so its class scores compare cell by cell, each
weighted by the original's score there. A QP-aware editor is trained under random per-block
QP maps (random_qp_maps) and reads them. With P-frames in the rate, the proxy's P-frame bits
are first scaled to real x265 P-frame bytes (vcm.preedit.calibration).
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcm.atomic import atomic_output
from vcm.codec.qpmap import QP_MAX
from vcm.errors import InputError
from vcm.media import FrameSource
from vcm.media.quality import ms_ssim
from vcm.models.detector import Detector
from vcm.models.efficientnet_lite import load_efficientnet_lite0
from vcm.preedit.calibration import inter_scale
from vcm.preedit.losses import (
    LossWeights,
    VmafNegDistance,
    edit_flicker,
    feature_distance,
    score_map_distance,
)
from vcm.preedit.network import PreEditor
from vcm.preedit.proxy import BLOCK, ProxyOutput, proxy_code, proxy_code_inter, rgb_to_ycbcr
from vcm.threads import use_cores

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
    p_frames P-frames, trained on pairs of consecutive frames (0: intra pictures only);
    qp_aware: the editor reads the QP map, and crops are coded under random per-block maps
    (random_qp_maps) instead of one QP each; width: the network's channels; residual: the bound
    of its learned correction (0: an editor that can only blur; see vcm.preedit.network)."""

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
    qp_aware: bool = False
    width: int = 32
    residual: float = 0.0

    def __post_init__(self) -> None:
        low, high = self.qp_range
        if not 0.0 <= self.residual <= 1.0:
            raise ValueError(f"the residual bound must lie in [0, 1], got {self.residual}")
        if self.weights.stability > 0 and self.p_frames == 0:
            raise ValueError("the stability term compares consecutive frames: it needs p_frames > 0")
        if self.p_frames < 0:
            raise ValueError(f"p_frames must be at least 0, got {self.p_frames}")
        for name in ("steps", "batch", "checkpoint_every", "pool", "width"):
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


def random_qp_maps(batch: int, blocks: int, qp_range: tuple[int, int], generator: np.random.Generator,
                   per_block: bool) -> torch.Tensor:
    """(batch, blocks, blocks) QPs per 16x16 block: each crop's QP is drawn uniformly from
    qp_range (inclusive); with per_block, half the crops also get a random rectangle of blocks
    at a lower QP drawn from [low, crop's QP], as a planner protects what it detects."""
    low, high = qp_range
    maps = np.repeat(generator.integers(low, high + 1, batch)[:, None, None], blocks, axis=1)
    maps = np.repeat(maps, blocks, axis=2)
    for crop in range(batch) if per_block else ():
        if generator.random() < 0.5:
            top, left = generator.integers(0, blocks, 2)
            bottom, right = top + 1 + generator.integers(0, blocks - top), left + 1 + generator.integers(
                0, blocks - left)
            maps[crop, top:bottom, left:right] = generator.integers(low, maps[crop, 0, 0] + 1)
    return torch.from_numpy(maps)


def frames_of(images: torch.Tensor) -> torch.Tensor:
    """(B, 3F, H, W) F frames stacked in channels -> (B F, 3, H, W)."""
    return images.reshape(-1, 3, *images.shape[-2:])


class Objective:
    """The training loss; `terms` returns every term per batch (means) and the total.
    p_frames = 0: crops (B, 3, H, W) are coded as intra pictures. p_frames = P > 0: crops are
    two consecutive frames (B, 6, H, W); the first is coded intra, the second as a P-frame
    predicted from it, and the rate is that of a GOP of one I and P such P-frames, each
    P-frame's proxy bits multiplied by inter_scale (see vcm.preedit.calibration)."""

    def __init__(self, detector: Detector, weights: LossWeights, sharpness: float | None = None,
                 p_frames: int = 0, inter_scale: float = 1.0) -> None:
        self.detector, self.weights, self.sharpness, self.p_frames = detector, weights, sharpness, p_frames
        self.inter_scale = inter_scale
        self.perceptual = load_efficientnet_lite0() if weights.perceptual > 0 else None
        self.vmaf_neg = VmafNegDistance() if weights.vmaf > 0 else None

    def task_distance(self, coded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        return score_map_distance(self.detector, coded, original)

    def code(self, edited: torch.Tensor, qp: torch.Tensor) -> ProxyOutput:
        """Proxy coding of the edited crops: rgb (B, 3F, H, W), luma (B F, 1, H, W), bits per
        frame of the GOP (B,)."""
        if self.p_frames == 0:
            return proxy_code(edited, qp, self.sharpness)
        intra = proxy_code(edited[:, :3], qp, self.sharpness)
        inter = proxy_code_inter(edited[:, 3:], intra.rgb, qp, self.sharpness)
        bits = (intra.bits + self.p_frames * self.inter_scale * inter.bits) / (1 + self.p_frames)
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
        vmaf = (self.vmaf_neg(coded.luma, original_luma * 255.0).mean() if self.vmaf_neg is not None
                else torch.zeros(()))
        w = self.weights
        flicker = edit_flicker(original, edited) if w.stability > 0 else torch.zeros(())
        total = (w.rate * torch.log(bits_per_pixel).mean() + w.fidelity * fidelity
                 + w.perceptual * perceptual + w.task * task + w.vmaf * vmaf + w.stability * flicker)
        return {"total": total, "bpp": bits_per_pixel.mean(), "fidelity": fidelity, "perceptual": perceptual,
                "task": task, "vmaf_neg_loss": vmaf, "flicker": flicker}


def save_checkpoint(path: Path, network: PreEditor, optimizer: torch.optim.Optimizer, step: int,
                    config: TrainConfig, history: list[dict[str, float]], detector: str,
                    inter_scale: float = 1.0) -> None:
    """Model and training state in one file, written atomically (`detector`: the name of the
    detector of the task term; inter_scale: the P-frame calibration used)."""
    payload = {"config": network.config(), "weights": network.state_dict(), "step": step,
               "optimizer": optimizer.state_dict(), "train": asdict(config), "history": history,
               "detector": detector, "inter_scale": inter_scale}
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
    use_cores()
    torch.manual_seed(config.seed)
    network = network or PreEditor(width=config.width, qp_aware=config.qp_aware, residual=config.residual)
    shape = {"width": config.width, "qp_aware": config.qp_aware, "residual": config.residual}
    if {name: network.config()[name] for name in shape} != shape:
        raise ValueError(f"a network of {network.config()} trained with settings {shape}")
    global_mix = ("head.bias", "qp_slope")  # the parameters that set the keep/blur mix everywhere
    optimizer = torch.optim.Adam(
        [{"params": [p for n, p in network.named_parameters() if n not in global_mix]},
         {"params": [p for n, p in network.named_parameters() if n in global_mix],
          "lr": config.learning_rate * HEAD_BIAS_LR_SCALE}],
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
    scale = inter_scale(frames, config.qp_range, config.seed) if config.p_frames else 1.0
    objective = Objective(detector, config.weights, config.quantizer_sharpness, config.p_frames, scale)
    running: dict[str, list[float]] = {}
    network.train()
    while step < config.steps:
        original = random_crops(frames, config.batch, config.crop, generator)
        qp_maps = random_qp_maps(config.batch, config.crop // BLOCK, config.qp_range, generator,
                                 config.qp_aware).float()
        frame_maps = qp_maps.repeat_interleave(channels // 3, dim=0)  # each frame of a pair: its crop's map
        edited = network(frames_of(original), frame_maps if config.qp_aware else None)
        terms = objective.terms(original, edited.reshape(original.shape), qp_maps)
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
            save_checkpoint(out, network, optimizer, step, config, history, detector.name, scale)
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
    kept.setdefault("qp_aware", False)
    kept.setdefault("width", TrainConfig.width)
    kept.setdefault("residual", 0.0)
    if isinstance(kept.get("weights"), dict):  # checkpoints from before the VMAF-NEG and stability terms
        kept["weights"] = {"vmaf": 0.0, "stability": 0.0, **kept["weights"]}
    return kept
