"""Progressive knowledge distillation (after Soufleri et al. 2024): train each stream network
alone, rank the streams by validation accuracy, then retrain down the ranking with each network
taught by the one ranked above it; fit the ensemble weights and the early-exit threshold on
validation. Every phase is a checkpoint file, so an interrupted run resumes where it stopped."""

import itertools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vcm.atomic import atomic_output
from vcm.cdomain.model import ActivityModel, fit_threshold, fit_weights
from vcm.cdomain.nets import COMPRESSED_STREAMS, STREAMS, Batch, ExitNet
from vcm.cdomain.training import Teacher, TrainSettings, exit_probabilities, fit

Progress = Callable[[str, int, float], None]  # (phase, epoch, validation accuracy)


@dataclass
class Phase:
    """A trained group of networks and its validation accuracy."""

    nets: dict[str, ExitNet]
    accuracy: float


class Checkpoints:
    """Phases of one training run, saved as folder/<phase>.pt with the settings and the data set
    description (`data`, e.g. its config.json) they came from; a phase is reused only if both match."""

    def __init__(self, folder: Path, settings: TrainSettings, data: str) -> None:
        self.folder, self.settings = folder, settings
        self.identity = json.dumps({"settings": asdict(settings), "data": data}, sort_keys=True)
        folder.mkdir(parents=True, exist_ok=True)

    def phase(self, name: str, streams: tuple[str, ...], train: Batch, validation: Batch,
              teacher: Teacher | None = None, progress: Progress | None = None) -> Phase:
        """The phase's networks: loaded if this phase was finished with the same settings,
        else trained (fit) and saved."""
        path = self.folder / f"{name}.pt"
        if path.exists():
            saved = torch.load(path, weights_only=True)
            if saved["identity"] == self.identity:
                nets = {}
                for stream, state in saved["states"].items():
                    nets[stream] = ExitNet(STREAMS[stream])
                    nets[stream].load_state_dict(state)
                    nets[stream].eval()
                return Phase(nets, float(saved["accuracy"]))
        report = (lambda epoch, accuracy: progress(name, epoch, accuracy)) if progress else None
        nets, accuracy = fit(streams, train, validation, self.settings, teacher, report)
        with atomic_output(path) as temporary:
            torch.save({"identity": self.identity, "accuracy": accuracy,
                        "states": {s: net.state_dict() for s, net in nets.items()}}, temporary)
        return Phase(nets, accuracy)


@dataclass
class PkdResult:
    """The model and what was learnt on the way: each stream alone, the distillation order."""

    model: ActivityModel
    alone: dict[str, Phase]
    distilled: dict[str, Phase]
    order: tuple[str, ...]


def train_pkd(train: Batch, validation: Batch, checkpoints: Checkpoints,
              progress: Progress | None = None) -> PkdResult:
    """Alone -> rank -> distil down the ranking -> ensemble weights and threshold (validation)."""
    alone = {s: checkpoints.phase(f"alone-{s}", (s,), train, validation, progress=progress)
             for s in COMPRESSED_STREAMS}
    order = tuple(sorted(COMPRESSED_STREAMS, key=lambda s: -alone[s].accuracy))
    distilled = {order[0]: alone[order[0]]}
    for teacher, student in itertools.pairwise(order):
        distilled[student] = checkpoints.phase(f"pkd-{student}", (student,), train, validation,
                                               teacher=(distilled[teacher].nets[teacher], teacher),
                                               progress=progress)
    nets = {s: distilled[s].nets[s] for s in COMPRESSED_STREAMS}
    probabilities = {s: exit_probabilities(net, s, validation) for s, net in nets.items()}
    model = ActivityModel(nets, fit_weights(probabilities, validation["label"]), 1.0)
    model.threshold = fit_threshold(model, probabilities, validation["label"])
    return PkdResult(model, alone, distilled, order)
