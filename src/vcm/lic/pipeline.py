"""The whole training recipe of the shipped model, on the sample's train frames only:
base codec -> adapters -> fine-tuned upper bounds -> HEVC post-filters -> one model file."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vcm.atomic import atomic_output
from vcm.lic.distortions import MACHINE_TASKS
from vcm.lic.postfilter import train_postfilter
from vcm.lic.train import PhaseSettings, Trainable, completed, read_checkpoint, train_phase
from vcm.media.samples import SAMPLE_SPLITS, sample_frames

TRAIN_FRAME_STEP = 2  # every other train frame: 198 pictures of 768x576 in memory
POSTFILTER_FRAME_STEP = 8  # 50 train frames, each coded at every post-filter training QP
RECIPE: dict[str, PhaseSettings] = {
    "base": PhaseSettings(steps=9000, learning_rate=5e-4),
    "adapters": PhaseSettings(steps=800, batch=4, crop=192, learning_rate=1e-3),
    **{f"finetune-{task}": PhaseSettings(steps=800, batch=4, crop=192, learning_rate=2e-4)
       for task in MACHINE_TASKS},
    **{f"postfilter-{task}": PhaseSettings(steps=600, batch=8, crop=192, learning_rate=1e-3)
       for task in MACHINE_TASKS},
}

Progress = Callable[[str, int, int, dict[str, float]], None]


def train_frames(step: int = TRAIN_FRAME_STEP) -> np.ndarray:
    """(N, 576, 768, 3) uint8: every step-th frame of the sample's train split."""
    return np.stack(list(sample_frames(*SAMPLE_SPLITS["train"], step=step)))


def train_recipe(folder: Path, phases: tuple[str, ...] = tuple(RECIPE),
                 progress: Progress | None = None) -> None:
    """Run the recipe's phases in order into folder/PHASE.pt; a finished phase is skipped and a
    stopped one resumes. Adapters and fine-tuning start from the finished base."""
    folder.mkdir(parents=True, exist_ok=True)
    frames: np.ndarray | None = None
    for phase in phases:
        checkpoint, settings = folder / f"{phase}.pt", RECIPE[phase]
        report = None if progress is None else (lambda s, n, v, p=phase: progress(p, s, n, v))
        if phase.startswith("postfilter-"):
            if not checkpoint.exists():
                train_postfilter(phase.removeprefix("postfilter-"), train_frames(POSTFILTER_FRAME_STEP),
                                 checkpoint, settings, report)
            continue
        if completed(checkpoint, phase, settings):
            continue
        frames = train_frames() if frames is None else frames
        start = Trainable.new() if phase == "base" else phase_model(folder, "base")
        train_phase(start, phase, frames, checkpoint, settings, report)


def phase_model(folder: Path, phase: str) -> Trainable:
    """The model a finished phase left in folder/PHASE.pt."""
    return Trainable.from_state(read_checkpoint(folder / f"{phase}.pt")["model"]).eval()


def assemble(folder: Path, out: Path) -> None:
    """The shipped file: the base with its adapters, and the HEVC post-filters."""
    model = phase_model(folder, "adapters")
    filters = {task: torch.load(folder / f"postfilter-{task}.pt", weights_only=True)["weights"]
               for task in MACHINE_TASKS}
    with atomic_output(out) as temporary:
        torch.save({"model": model.state(), "postfilters": filters}, temporary)
