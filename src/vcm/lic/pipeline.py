"""The training recipe of the shipped model on top of the base run (vcm.lic.base_run):
adapters -> fine-tuned upper bounds -> HEVC post-filters -> one model file. Everything trains on
the training frames only (the sample's train split and the train clips)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vcm.atomic import atomic_output
from vcm.lic.base_run import load_run, run_model, training_frames
from vcm.lic.distortions import MACHINE_TASKS
from vcm.lic.postfilter import train_postfilter
from vcm.lic.train import PhaseSettings, Trainable, completed, read_checkpoint, train_phase
from vcm.media.samples import SAMPLE_SPLITS, sample_frames

POSTFILTER_FRAME_STEP = 8  # 50 frames of the sample's train split, each coded at every post-filter QP
RECIPE: dict[str, PhaseSettings] = {
    "adapters": PhaseSettings(steps=800, batch=4, crop=192, learning_rate=1e-3),
    **{f"finetune-{task}": PhaseSettings(steps=800, batch=4, crop=192, learning_rate=2e-4)
       for task in MACHINE_TASKS},
    **{f"postfilter-{task}": PhaseSettings(steps=600, batch=8, crop=192, learning_rate=1e-3)
       for task in MACHINE_TASKS},
}

Progress = Callable[[str, int, int, dict[str, float]], None]


def postfilter_frames() -> np.ndarray:
    """(N, 576, 768, 3) uint8: every POSTFILTER_FRAME_STEP-th frame of the sample's train split."""
    return np.stack(list(sample_frames(*SAMPLE_SPLITS["train"], step=POSTFILTER_FRAME_STEP)))


def train_recipe(folder: Path, phases: tuple[str, ...] = tuple(RECIPE),
                 progress: Progress | None = None) -> None:
    """Run the recipe's phases in order into folder/PHASE.pt; a finished phase is skipped and a
    stopped one resumes. Adapters and fine-tuning start from the base run's codec."""
    folder.mkdir(parents=True, exist_ok=True)
    frames: list[np.ndarray] | None = None
    for phase in phases:
        checkpoint, settings = folder / f"{phase}.pt", RECIPE[phase]
        report = None if progress is None else (lambda s, n, v, p=phase: progress(p, s, n, v))
        if phase.startswith("postfilter-"):
            if not checkpoint.exists():
                train_postfilter(phase.removeprefix("postfilter-"), postfilter_frames(), checkpoint, settings,
                                 report)
            continue
        if completed(checkpoint, phase, settings):
            continue
        frames = training_frames() if frames is None else frames
        train_phase(run_model(load_run()), phase, frames, checkpoint, settings, report)


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
