"""Activity of an H.264 stream, window by window, from the compressed domain."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcm.cdomain.model import STAGES, ActivityModel
from vcm.cdomain.nets import STREAMS
from vcm.cdomain.synthetic import ACTIONS
from vcm.cdomain.training import exit_probabilities
from vcm.cdomain.windows import FrameGroup, group_windows


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


def classify_group(model: ActivityModel, group: FrameGroup, early_exit: bool = True) -> WindowActivity:
    """Classify one window with the model's cascade, computing only the inputs of the streams
    the cascade reaches."""
    inputs = {"mv": group.motion, "intra": group.intra_picture, "residual": group.residual}

    def probabilities_of(stream: str, windows: np.ndarray) -> np.ndarray:
        return exit_probabilities(model.nets[stream], stream, {STREAMS[stream].key: inputs[stream]()[None]})

    answers = model.cascade(probabilities_of, 1, early_exit)
    scores = {action: round(float(p), 4)
              for action, p in zip(ACTIONS, answers.probabilities[0], strict=True)}
    return WindowActivity(group.first, group.last, ACTIONS[int(answers.label[0])],
                          round(float(answers.confidence[0]), 4), "+".join(STAGES[int(answers.stage[0])]),
                          scores)


def classify_video(path: str | Path, model: ActivityModel,
                   early_exit: bool = True) -> Iterator[WindowActivity]:
    """Every window of the H.264 video at `path`, one at a time (bounded memory)."""
    for group in group_windows(path):
        yield classify_group(model, group, early_exit)
