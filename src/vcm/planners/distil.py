"""Distil the xai search into the learned planner (`vcm distil`).

1. Teacher maps: the xai planner runs over the training and validation segments of a
   video (targets: the detector's confident detections on the original); every frame's
   block QPs and kept blocks are cached as .npz, so training again costs no search.
2. Training: PlanNet learns, from the frame, its targets and the previous frame's map,
   which blocks xai kept (binary cross-entropy) and their QP (L1, on kept blocks), with
   horizontal flips. One run per seed; each run's checkpoint is its epoch of lowest
   validation loss; the model written is the seed with the lowest validation loss.
"""

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import mean, pstdev

import numpy as np
import torch
import torch.nn.functional as F

from vcm.atomic import atomic_output, write_text_atomic
from vcm.codec.qpmap import QP_MAX, grid_shape
from vcm.media import windows
from vcm.media.source import FrameSource
from vcm.models.detector import Detector, detect_frames
from vcm.planners.base import PlanSettings
from vcm.planners.learned_net import PlanNet, plan_inputs, save_plan_net
from vcm.planners.registry import plan_clip
from vcm.planners.xai import XaiConfig
from vcm.tasks.targets import select_targets

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DistilConfig:
    """train / val: [first, last) segment indices of the video; epochs, batch (frames per
    step), learning_rate: Adam; seeds: one training run each."""

    train: tuple[int, int] = (0, 12)
    val: tuple[int, int] = (12, 16)
    segment: int = 33
    epochs: int = 40
    batch: int = 8
    learning_rate: float = 2e-3
    seeds: tuple[int, ...] = (0, 1, 2)
    settings: PlanSettings = field(default_factory=PlanSettings)
    teacher: XaiConfig = field(default_factory=XaiConfig)


@dataclass
class TeacherSegment:
    """One segment's frames' inputs (N, CHANNELS, h, w) float16, xai's block QPs (N, rows,
    cols) and kept masks (N, rows, cols)."""

    inputs: np.ndarray
    qp: np.ndarray
    kept: np.ndarray


def _segments(video: Path, config: DistilConfig, span: tuple[int, int]) -> Iterator[tuple[int, np.ndarray]]:
    with FrameSource(video) as source:
        for index, (_, frames) in enumerate(windows(source, config.segment)):
            if index >= span[1] or len(frames) < config.segment:
                return
            if index >= span[0]:
                yield index, frames


def teacher_segment(frames: np.ndarray, detector: Detector, config: DistilConfig) -> TeacherSegment:
    """Run xai over one segment and pair each frame's inputs with its map."""
    spec = config.settings.targets
    targets = select_targets(detect_frames(detector, frames), spec)
    plans = plan_clip("xai", frames, detector, config.settings, targets, config.teacher)
    rows, cols = grid_shape(frames.shape[2], frames.shape[1])
    previous_qp, previous_kept = np.full((rows, cols), QP_MAX), np.zeros((rows, cols), dtype=bool)
    inputs, qps, kept = [], [], []
    for frame, frame_targets, plan in zip(frames, targets, plans, strict=True):
        qp = plan.qp_map.dense(rows, cols)
        painted = _painted_blocks(plan.rgb, frame, rows, cols)
        features = plan_inputs(frame, frame_targets, previous_qp, previous_kept, spec.min_score)
        inputs.append(features.half().numpy())
        qps.append(qp.astype(np.int16))
        kept.append(~painted)
        previous_qp, previous_kept = qp, ~painted
    return TeacherSegment(np.stack(inputs), np.stack(qps), np.stack(kept))


def _painted_blocks(coded: np.ndarray, original: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) blocks that the planner painted black (and were not black already)."""
    def block_max(rgb: np.ndarray) -> np.ndarray:
        padded = np.zeros((rows * 16, cols * 16), dtype=np.uint8)
        padded[: rgb.shape[0], : rgb.shape[1]] = rgb.max(axis=2)
        return padded.reshape(rows, 16, cols, 16).max(axis=(1, 3))

    return (block_max(coded) == 0) & (block_max(original) > 0)


def teacher_data(video: Path, detector: Detector, config: DistilConfig, span: tuple[int, int], work: Path,
                 progress: Progress | None = None) -> list[TeacherSegment]:
    """The teacher segments of `span`, from work/segment_NNN.npz when cached, else searched."""
    work.mkdir(parents=True, exist_ok=True)
    segments = []
    for index, frames in _segments(video, config, span):
        cached = work / f"segment_{index:03d}.npz"
        if not cached.exists():
            segment = teacher_segment(frames, detector, config)
            partial = cached.with_suffix(".part.npz")
            np.savez_compressed(partial, **asdict(segment))
            partial.replace(cached)
        with np.load(cached) as data:
            segments.append(TeacherSegment(data["inputs"], data["qp"], data["kept"]))
        if progress is not None:
            progress("teacher maps", index - span[0] + 1, span[1] - span[0])
    return segments


def _stack(segments: Sequence[TeacherSegment]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(np.concatenate([s.inputs for s in segments])).float(),
            torch.from_numpy(np.concatenate([s.qp for s in segments])).float(),
            torch.from_numpy(np.concatenate([s.kept for s in segments])).float())


def plan_loss(out: torch.Tensor, qp: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """BCE on kept blocks + L1 of QP (in units of 10 QP) over the blocks the teacher kept."""
    keep_loss = F.binary_cross_entropy_with_logits(out[:, 1], kept)
    qp_loss = ((out[:, 0] - qp).abs() * kept).sum() / kept.sum().clamp(min=1) / 10
    return keep_loss + qp_loss


def train_one(train: Sequence[TeacherSegment], val: Sequence[TeacherSegment], config: DistilConfig,
              seed: int, progress: Progress | None = None) -> tuple[PlanNet, dict[str, object]]:
    """One training run; returns the network at its best validation epoch and its log."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs, qp, kept = _stack(train)
    val_inputs, val_qp, val_kept = _stack(val)
    network = PlanNet()
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    best, best_state, history = float("inf"), network.state_dict(), []
    for epoch in range(config.epochs):
        network.train()
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), config.batch):
            chosen = order[start : start + config.batch]
            x, y_qp, y_kept = inputs[chosen], qp[chosen], kept[chosen]
            if torch.rand(1, generator=generator).item() < 0.5:
                x, y_qp, y_kept = x.flip(-1), y_qp.flip(-1), y_kept.flip(-1)
            loss = plan_loss(network(x), y_qp, y_kept)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        network.eval()
        with torch.inference_mode():
            val_loss = float(plan_loss(network(val_inputs), val_qp, val_kept))
        history.append(round(val_loss, 4))
        if val_loss < best:
            best, best_state = val_loss, {k: v.clone() for k, v in network.state_dict().items()}
        if progress is not None:
            progress(f"seed {seed}", epoch + 1, config.epochs)
    network.load_state_dict(best_state)
    return network.eval(), {"seed": seed, "best_val_loss": round(best, 4),
                            "best_epoch": history.index(min(history)) + 1, "val_loss": history}


def distil(video: Path, detector: Detector, config: DistilConfig, out: Path, work: Path,
           progress: Progress | None = None) -> dict[str, object]:
    """Teacher maps, one training run per seed, the best seed on validation written to `out`
    (with the training log inside); returns the log (also written as out.json)."""
    started = time.perf_counter()
    train = teacher_data(video, detector, config, config.train, work, progress)
    val = teacher_data(video, detector, config, config.val, work, progress)
    if not train or not val:
        raise ValueError(f"{video} has no segment in train {config.train} or val {config.val}")
    runs = [train_one(train, val, config, seed, progress) for seed in config.seeds]
    network, chosen = min(runs, key=lambda run: float(run[1]["best_val_loss"]))  # type: ignore[arg-type]
    losses = [float(run[1]["best_val_loss"]) for run in runs]  # type: ignore[arg-type]
    log: dict[str, object] = {
        "video": video.name, "train_segments": list(config.train), "val_segments": list(config.val),
        "frames": {"train": sum(len(s.qp) for s in train), "val": sum(len(s.qp) for s in val)},
        "epochs": config.epochs, "batch": config.batch, "learning_rate": config.learning_rate,
        "detector": detector.name, "teacher": asdict(config.teacher), "chosen_seed": chosen["seed"],
        "val_loss_mean": round(mean(losses), 4), "val_loss_std": round(pstdev(losses), 4),
        "runs": [run[1] for run in runs], "seconds": round(time.perf_counter() - started, 1),
    }
    with atomic_output(out) as temporary:
        save_plan_net(network, temporary, log)
    write_text_atomic(out.with_suffix(".json"), json.dumps(log, indent=1))
    return log

