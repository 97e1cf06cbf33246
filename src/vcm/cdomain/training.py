"""Training the stream networks on CPU: alone, jointly, or taught by another network
(knowledge distillation), every checkpoint chosen on validation accuracy."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.cdomain.nets import STREAMS, Batch, ExitNet
from vcm.cdomain.synthetic import ACTIONS

MIRRORED = np.array([ACTIONS.index({"walk_left": "walk_right", "walk_right": "walk_left"}.get(a, a))
                     for a in ACTIONS])  # the label of each action seen in a mirror


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and distillation settings (fixed, not tuned on test)."""

    epochs: int = 30
    batch: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    distil_weight: float = 0.5  # share of the loss that follows the teacher
    temperature: float = 3.0
    seed: int = 0


def mirror(batch: Batch, flip: np.ndarray) -> Batch:
    """The batch with the windows where `flip` (B,) bool is set mirrored left-right: pictures
    and block fields flipped, horizontal vectors negated, walking direction labels swapped."""
    out = dict(batch)
    if "mv" in batch:
        mv = batch["mv"].copy()
        mv[flip] = mv[flip][..., ::-1]
        mv[flip, :, 0] *= -1
        out["mv"] = mv
    for key, axis in (("residual", -1), ("intra", -2), ("frames", -2)):
        if key in batch:
            values = batch[key].copy()
            values[flip] = np.flip(values[flip], axis=axis)
            out[key] = values
    out["label"] = np.where(flip, MIRRORED[batch["label"]], batch["label"])
    return out


def take(data: Batch, indices: np.ndarray) -> Batch:
    return {key: values[indices] for key, values in data.items()}


def exit_probabilities(net: ExitNet, stream: str, data: Batch, batch: int = 128) -> np.ndarray:
    """(N, exits, classes) softmax probabilities of every exit of `net` on `data`."""
    net.eval()
    data = {STREAMS[stream].key: data[STREAMS[stream].key]}
    outputs = []
    with torch.no_grad():
        count = len(next(iter(data.values())))
        for start in range(0, count, batch):
            part = take(data, np.arange(start, min(start + batch, count)))
            outputs.append(torch.stack(net(STREAMS[stream].prepare(part)), dim=1).softmax(-1).numpy())
    return np.concatenate(outputs)


Teacher = tuple[ExitNet, str]


def fit(streams: Sequence[str], train: Batch, validation: Batch, settings: TrainSettings,
        teacher: Teacher | None = None, on_epoch: Callable[[int, float], None] | None = None
        ) -> tuple[dict[str, ExitNet], float]:
    """Train one network per stream together (their losses summed: cross-entropy at every exit,
    plus, with a teacher, distil_weight * temperature^2 * KL(teacher || exit) at every exit);
    returns the networks at the epoch whose validation accuracy (mean of their final exits'
    probabilities) was best, and that accuracy."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    keys = {STREAMS[s].key for s in (*streams, *([teacher[1]] if teacher else []))} | {"label"}
    train = {key: train[key] for key in keys}
    nets = {stream: ExitNet(STREAMS[stream]) for stream in streams}
    parameters = [p for net in nets.values() for p in net.parameters()]
    optimiser = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    steps = settings.epochs * -(-len(train["label"]) // settings.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.learning_rate, total_steps=steps)
    best, best_states = -1.0, {}
    for epoch in range(settings.epochs):
        for net in nets.values():
            net.train()
        order = rng.permutation(len(train["label"]))
        for start in range(0, len(order), settings.batch):
            part = take(train, order[start:start + settings.batch])
            part = mirror(part, rng.uniform(size=len(part["label"])) < 0.5)
            labels = torch.from_numpy(part["label"])
            loss = _loss(nets, part, labels, settings, teacher)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        accuracy = float(np.mean(np.mean([exit_probabilities(net, stream, validation)[:, -1]
                                          for stream, net in nets.items()], axis=0).argmax(1)
                                 == validation["label"]))
        if accuracy > best:
            best, best_states = accuracy, {stream: state_of(net) for stream, net in nets.items()}
        if on_epoch:
            on_epoch(epoch, accuracy)
    for stream, net in nets.items():
        net.load_state_dict(best_states[stream])
        net.eval()
    return nets, best


def _loss(nets: dict[str, ExitNet], batch: Batch, labels: torch.Tensor, settings: TrainSettings,
          teacher: Teacher | None) -> torch.Tensor:
    target = None
    if teacher is not None:
        net, stream = teacher
        net.eval()
        with torch.no_grad():
            target = F.softmax(net(STREAMS[stream].prepare(batch))[-1] / settings.temperature, dim=-1)
    total = torch.zeros(())
    for stream, net in nets.items():
        for logits in net(STREAMS[stream].prepare(batch)):
            loss = F.cross_entropy(logits, labels)
            if target is not None:
                distil = F.kl_div(F.log_softmax(logits / settings.temperature, dim=-1), target,
                                  reduction="batchmean") * settings.temperature ** 2
                loss = (1 - settings.distil_weight) * loss + settings.distil_weight * distil
            total = total + loss
    return total


def state_of(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in net.state_dict().items()}
