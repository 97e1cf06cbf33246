"""Activity of an H.264 stream, window by window, from the compressed domain."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcm.cdomain.model import STAGES, ActivityModel
from vcm.cdomain.synthetic import ACTIONS
from vcm.cdomain.windows import Window, read_windows

BATCH_WINDOWS = 32  # windows classified together (bounded memory: one batch of small arrays)


@dataclass(frozen=True)
class WindowActivity:
    """Frames first..last (inclusive), the action, its ensemble probability, which exit
    answered ('mv', 'mv+intra' or 'mv+intra+residual'), and every action's probability."""

    first: int
    last: int
    label: str
    confidence: float
    exit: str
    scores: dict[str, float]


def classify_windows(model: ActivityModel, windows: list[Window],
                     early_exit: bool = True) -> list[WindowActivity]:
    """Classify a batch of windows with the model's cascade."""
    data = {"mv": np.stack([w.mv for w in windows]), "residual": np.stack([w.residual for w in windows]),
            "intra": np.stack([w.intra for w in windows])}
    answers = model.answer(data, early_exit)
    return [WindowActivity(w.first, w.last, ACTIONS[int(label)], round(float(confidence), 4),
                           "+".join(STAGES[int(stage)]),
                           {action: round(float(p), 4) for action, p in zip(ACTIONS, scores, strict=True)})
            for w, label, confidence, stage, scores in zip(windows, answers.label, answers.confidence,
                                                           answers.stage, answers.probabilities, strict=True)]


def classify_video(path: str | Path, model: ActivityModel,
                   early_exit: bool = True) -> Iterator[WindowActivity]:
    """Every window of the H.264 video at `path`, streamed in batches of BATCH_WINDOWS."""
    batch: list[Window] = []
    for window in read_windows(path):
        batch.append(window)
        if len(batch) == BATCH_WINDOWS:
            yield from classify_windows(model, batch, early_exit)
            batch = []
    if batch:
        yield from classify_windows(model, batch, early_exit)
