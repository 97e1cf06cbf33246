"""The activity model: the three stream networks, a weighted ensemble of their exits, and the
early-exit cascade that answers from the cheapest stream when it is confident."""

import itertools
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vcm.cdomain.nets import COMPRESSED_STREAMS, STREAMS, Batch, ExitNet
from vcm.cdomain.synthetic import ACTIONS
from vcm.cdomain.training import exit_probabilities, take
from vcm.errors import InputError

SHIPPED_MODEL = Path(__file__).parent / "models" / "activity.pt"
STAGES = (("mv",), ("mv", "intra"), ("mv", "intra", "residual"))  # cheapest first
EARLY_EXIT_WEIGHT = 0.5  # weight of a network's early exit next to its final exit
WEIGHT_GRID = (0.25, 0.5, 1.0, 2.0)
THRESHOLD_GRID = tuple(np.round(np.arange(0.30, 1.0, 0.01), 2))
KEEP_ACCURACY = 0.97  # the cascade keeps this share of the full ensemble's validation accuracy


@dataclass
class Answers:
    """Per window: label (N,) int, confidence (N,) float, stage (N,) int index into STAGES, and
    probabilities (N, classes) of the stage that answered."""

    label: np.ndarray
    confidence: np.ndarray
    stage: np.ndarray
    probabilities: np.ndarray


@dataclass
class ActivityModel:
    """Stream networks, per-stream ensemble weights, the cascade's confidence threshold, and the
    moving score (1 - P(stand)) from which activity search runs the detector on a window."""

    nets: dict[str, ExitNet]
    weights: dict[str, float]
    threshold: float
    search_threshold: float = 0.5

    def combine(self, probabilities: dict[str, np.ndarray], streams: tuple[str, ...]) -> np.ndarray:
        """(N, classes): weighted mean of the exits' (N, exits, classes) probabilities of `streams`."""
        total = sum(self.weights[s] * (probabilities[s][:, -1] + EARLY_EXIT_WEIGHT * probabilities[s][:, 0])
                    for s in streams)
        return total / total.sum(axis=1, keepdims=True)

    def answer(self, data: Batch, early_exit: bool = True) -> Answers:
        """Classify windows; with early_exit, a stage answers the windows on which its ensemble's
        top probability reaches the threshold and only the rest go on to the next stream (whose
        network runs on those windows only)."""
        return self.cascade(lambda stream, windows: exit_probabilities(self.nets[stream], stream,
                                                                       take(data, windows)),
                            len(data["mv"]), early_exit)

    def cascade(self, probabilities_of: Callable[[str, np.ndarray], np.ndarray], count: int,
                early_exit: bool = True) -> Answers:
        """The early-exit cascade over `count` windows; probabilities_of(stream, windows) gives
        (len(windows), exits, classes) probabilities of a stream's network on those windows."""
        answered = np.zeros((count, len(ACTIONS)))
        stage_of = np.full(count, len(STAGES) - 1)
        open_windows = np.arange(count)
        probabilities: dict[str, np.ndarray] = {}
        stages = STAGES if early_exit else STAGES[-1:]
        for number, streams in enumerate(stages):
            for stream in streams:
                if stream not in probabilities:
                    probabilities[stream] = np.zeros((count, 2, len(ACTIONS)))
                    probabilities[stream][open_windows] = probabilities_of(stream, open_windows)
            combined = self.combine({s: p[open_windows] for s, p in probabilities.items()}, streams)
            sure = (np.ones(len(open_windows), bool) if number == len(stages) - 1
                    else combined.max(1) >= self.threshold)
            decided = open_windows[sure]
            answered[decided] = combined[sure]
            stage_of[decided] = STAGES.index(streams)
            open_windows = open_windows[~sure]
            if not len(open_windows):
                break
        return Answers(answered.argmax(1), answered.max(1), stage_of, answered)

    def save(self, path: Path) -> None:
        torch.save({"actions": list(ACTIONS), "weights": self.weights, "threshold": self.threshold,
                    "search_threshold": self.search_threshold,
                    "states": {s: net.state_dict() for s, net in self.nets.items()}}, path)

    @classmethod
    def load(cls, path: Path = SHIPPED_MODEL) -> "ActivityModel":
        if not Path(path).is_file():
            raise InputError(f"no activity model at {path}: train one with `vcm activity train`")
        try:
            saved = torch.load(path, weights_only=True)
            nets = {}
            for stream, state in saved["states"].items():
                nets[stream] = ExitNet(STREAMS[stream])
                nets[stream].load_state_dict(state)
                nets[stream].eval()
        except (RuntimeError, KeyError, EOFError, pickle.UnpicklingError) as error:
            raise InputError(f"{path} is not an activity model ({error})") from None
        if tuple(saved["actions"]) != ACTIONS or set(nets) != set(COMPRESSED_STREAMS):
            raise InputError(f"{path} was trained for other actions or streams")
        return cls(nets, dict(saved["weights"]), float(saved["threshold"]),
                   float(saved["search_threshold"]))


def fit_weights(probabilities: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Per-stream ensemble weights from WEIGHT_GRID with the best accuracy of the full ensemble
    on (validation) `probabilities`, ties broken by log-likelihood."""
    def score(weights: dict[str, float]) -> tuple[float, float]:
        model = ActivityModel({}, weights, 1.0)
        combined = model.combine(probabilities, COMPRESSED_STREAMS)
        return (float(np.mean(combined.argmax(1) == labels)),
                float(np.mean(np.log(combined[np.arange(len(labels)), labels] + 1e-9))))
    candidates = (dict(zip(COMPRESSED_STREAMS, values, strict=True))
                  for values in itertools.product(WEIGHT_GRID, repeat=len(COMPRESSED_STREAMS)))
    return max(candidates, key=score)


def fit_threshold(model: ActivityModel, probabilities: dict[str, np.ndarray], labels: np.ndarray) -> float:
    """The lowest confidence threshold at which the cascade keeps KEEP_ACCURACY of the full
    ensemble's accuracy on (validation) `probabilities` (1.0: never exit early)."""
    def accuracy(early_exit: bool) -> float:
        answers = model.cascade(lambda stream, windows: probabilities[stream][windows], len(labels),
                                early_exit)
        return float(np.mean(answers.label == labels))
    full = accuracy(early_exit=False)
    for threshold in THRESHOLD_GRID:
        model.threshold = float(threshold)
        if accuracy(early_exit=True) >= KEEP_ACCURACY * full:
            return float(threshold)
    return 1.0
