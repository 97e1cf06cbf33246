"""Train the codec on CPU in phases, each resumable from its checkpoint. The base itself
(every codec weight, loss bpp + lambda_q 255^2 MSE for people, quality q drawn per crop) is a
run continued across sessions (vcm.lic.base_run); the phases here start from it:

- adapters: base frozen; the shared encoder adapter and one decoder adapter per machine task,
  loss bpp + lambda_q (255^2 MSE of the base decoder + sum over tasks of the task's distortion
  of its adapter's picture);
- finetune-TASK: the upper bound the adapters are measured against: every codec weight again,
  from the base, on the adapters' objective for that task alone, loss bpp + lambda_q (255^2 MSE
  + that task's distortion). Without the MSE term (the task's distortion alone) the
  classification bound agreed with the original less than the base at every rate.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vcm.atomic import atomic_output
from vcm.errors import InputError
from vcm.lic.distortions import MACHINE_TASKS, TASKS
from vcm.lic.model import CodecShape, HyperpriorCodec, make_adapter
from vcm.preedit.train import random_crops
from vcm.threads import use_cores

Progress = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class PhaseSettings:
    """steps: optimiser steps; batch, crop: crops per step and their side (pixels, a multiple
    of 64); learning_rate: Adam's, decayed on a cosine to a tenth; checkpoint_every: steps."""

    steps: int
    batch: int = 8
    crop: int = 128
    learning_rate: float = 3e-4
    seed: int = 0
    checkpoint_every: int = 100


PHASES = ("adapters", *(f"finetune-{task}" for task in MACHINE_TASKS))


@dataclass
class Trainable:
    """The codec with its adapters: what a phase trains and what a checkpoint holds."""

    codec: HyperpriorCodec
    encoder_adapter: nn.ModuleList
    decoder_adapters: nn.ModuleDict

    @classmethod
    def new(cls, shape: CodecShape | None = None) -> "Trainable":
        codec = HyperpriorCodec(shape)
        return cls(codec, make_adapter(codec.shape, decoder=False),
                   nn.ModuleDict({task: make_adapter(codec.shape, decoder=True) for task in MACHINE_TASKS}))

    def codec_state(self) -> dict[str, Any]:
        """The codec alone (what the base run keeps)."""
        return {"shape": self.codec.config(), "codec": self.codec.state_dict()}

    def state(self) -> dict[str, Any]:
        return {**self.codec_state(), "encoder_adapter": self.encoder_adapter.state_dict(),
                "decoder_adapters": self.decoder_adapters.state_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Trainable":
        """From `state` or `codec_state`; the latter gets new (identity) adapters."""
        shape = state["shape"]
        made = cls.new(CodecShape(**{**shape, "lambdas": tuple(shape["lambdas"])}))
        made.codec.load_state_dict(state["codec"])
        if "encoder_adapter" in state:
            made.encoder_adapter.load_state_dict(state["encoder_adapter"])
            made.decoder_adapters.load_state_dict(state["decoder_adapters"])
        return made

    def eval(self) -> "Trainable":
        for module in (self.codec, self.encoder_adapter, self.decoder_adapters):
            module.eval()
        return self


def phase_parameters(model: Trainable, phase: str) -> list[nn.Parameter]:
    """The weights a phase trains."""
    if phase == "adapters":
        return [*model.encoder_adapter.parameters(), *model.decoder_adapters.parameters()]
    return list(model.codec.parameters())


def phase_loss(model: Trainable, phase: str, original: torch.Tensor,
               quality: torch.Tensor) -> dict[str, torch.Tensor]:
    """The loss of a phase (or of "base", the base run's) and its terms (batch means) for crops
    (B, 3, H, W) at qualities (B,)."""
    lambdas = torch.tensor(model.codec.shape.lambdas)[quality]
    pixels = original.shape[-1] * original.shape[-2]
    if phase == "adapters":
        adapters = {"base": None, **{task: model.decoder_adapters[task] for task in MACHINE_TASKS}}
        out = model.codec(original, quality, encoder_adapter=model.encoder_adapter, decoder_adapters=adapters)
        terms = {"human": TASKS["human"].distortion(out["decoded"]["base"], original)}
        terms |= {task: TASKS[task].distortion(out["decoded"][task], original) for task in MACHINE_TASKS}
    else:
        out = model.codec(original, quality)
        decoded = out["decoded"]["base"]
        terms = {"human": TASKS["human"].distortion(decoded, original)}
        if phase != "base":
            task = phase.removeprefix("finetune-")
            terms[task] = TASKS[task].distortion(decoded, original)
    bpp = out["bits"] / pixels
    distortion = torch.stack(list(terms.values()), dim=1).sum(dim=1)
    total = (bpp + lambdas * distortion).mean()
    return {"total": total, "bpp": bpp.mean(), **{name: value.mean() for name, value in terms.items()}}


def train_phase(model: Trainable, phase: str, frames: Sequence[np.ndarray], checkpoint: Path,
                settings: PhaseSettings, progress: Progress | None = None) -> list[dict[str, float]]:
    """Run `phase` on (H, W, 3) uint8 frames, checkpointing to `checkpoint` and resuming from
    it when it holds an unfinished run of the same phase and settings. Returns the history (mean
    terms per checkpoint interval)."""
    if phase not in PHASES:
        raise InputError(f"unknown phase {phase!r}; choose one of {', '.join(PHASES)}")
    if settings.crop % 64 or settings.crop < 64:
        raise InputError(f"the crop must be a multiple of 64, got {settings.crop}")
    use_cores()
    torch.manual_seed(settings.seed)
    for parameter in [*model.codec.parameters(), *model.encoder_adapter.parameters(),
                      *model.decoder_adapters.parameters()]:
        parameter.requires_grad_(False)
    trained = phase_parameters(model, phase)
    for parameter in trained:
        parameter.requires_grad_(True)
    optimizer = torch.optim.Adam(trained, lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _cosine(step, settings.steps))
    step, history = 0, []
    if checkpoint.exists():
        state = read_checkpoint(checkpoint)
        if state.get("phase") != phase or state.get("settings") != asdict(settings):
            raise InputError(f"{checkpoint} holds another phase or other settings; "
                             "remove it or choose another folder")
        model_state = Trainable.from_state(state["model"])
        model.codec.load_state_dict(model_state.codec.state_dict())
        model.encoder_adapter.load_state_dict(model_state.encoder_adapter.state_dict())
        model.decoder_adapters.load_state_dict(model_state.decoder_adapters.state_dict())
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, history = state["step"], state["history"]
    generator = np.random.default_rng([settings.seed, step])
    running: dict[str, list[float]] = {}
    for module in (model.codec, model.encoder_adapter, model.decoder_adapters):
        module.train()
    while step < settings.steps:
        values = optimise_step(model, phase, random_crops(frames, settings.batch, settings.crop, generator),
                               generator, optimizer, schedule)
        step += 1
        for name, value in values.items():
            running.setdefault(name, []).append(value)
        if progress:
            progress(step, settings.steps, values)
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            history.append({"step": step, **{k: round(float(np.mean(v)), 5) for k, v in running.items()}})
            running = {}
            payload = {"phase": phase, "settings": asdict(settings), "model": model.state(), "step": step,
                       "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                       "history": history}
            with atomic_output(checkpoint) as temporary:
                torch.save(payload, temporary)
    model.eval()
    return history


def optimise_step(model: Trainable, phase: str, original: torch.Tensor, generator: np.random.Generator,
                  optimizer: torch.optim.Optimizer, schedule: torch.optim.lr_scheduler.LRScheduler
                  ) -> dict[str, float]:
    """One step of `phase` on crops (B, 3, H, W), each at a random quality, gradients clipped
    to norm 1 -> the loss terms' values."""
    quality = torch.from_numpy(generator.integers(0, model.codec.shape.qualities, len(original)))
    terms = phase_loss(model, phase, original, quality)
    optimizer.zero_grad()
    terms["total"].backward()
    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], 1.0)
    optimizer.step()
    schedule.step()
    return {name: float(value.detach()) for name, value in terms.items()}


def _cosine(step: int, steps: int) -> float:
    """Learning-rate factor: from 1 down a half cosine to 0.1 at `steps`."""
    return 0.1 + 0.45 * (1 + float(np.cos(np.pi * min(step, steps) / steps)))


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A phase checkpoint; InputError when the file is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load of an arbitrary file fails in arbitrary ways
        raise InputError(f"{path} is not a vcm lic checkpoint ({type(error).__name__})") from None
    if not isinstance(state, dict) or not {"phase", "model", "step"} <= set(state):
        raise InputError(f"{path} is not a vcm lic checkpoint")
    return state


def completed(path: Path, phase: str, settings: PhaseSettings) -> bool:
    """Whether `path` holds the finished `phase` with these settings."""
    if not path.exists():
        return False
    state = read_checkpoint(path)
    return (state["phase"] == phase and state["settings"] == asdict(settings)
            and state["step"] >= settings.steps)


def parameter_count(modules: Sequence[nn.Module]) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())
