"""The base codec's training run, continued session after session.

The run lives in one committed file (RUN_FILE): the codec, its step count, the pixels it has
seen, the loss curve and the validation curve (BD-rate against JPEG and HEVC intra on the
validation frames at each validation step). `vcm lic train-base --minutes M` loads it, trains
on every training frame (the sample's train split and the train clips) for M minutes and
saves it back, so each session's CPU time adds to the last one's. Adam starts afresh each
session, behind a short warm-up of the learning rate.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcm.atomic import atomic_output
from vcm.errors import InputError
from vcm.eval.bdrate import bd_rate
from vcm.lic.train import Trainable, optimise_step, read_checkpoint
from vcm.preedit.train import random_crops
from vcm.threads import use_cores

RUN_FILE = Path(__file__).parent / "models" / "base-run.pt"
SAMPLE_FRAME_STEP = 2  # every other frame of the sample's train split: 198 pictures of 768x576
CLIP_FRAMES = 96  # frames taken evenly from each train clip
VALIDATION_SAMPLE_STEP = 33  # 4 frames of the sample's validation split
VALIDATION_CLIP_FRAMES = 2  # and 2 of each validation clip

Progress = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class RunSettings:
    """batch, crop: crops per step and their side (px); learning_rate: Adam's, constant after
    `warmup` steps of each session (the published recipes' 1e-4); checkpoint_every,
    validate_every: steps between saves and between validation points."""

    batch: int = 8
    crop: int = 256
    learning_rate: float = 1e-4
    warmup: int = 200
    checkpoint_every: int = 250
    validate_every: int = 1000
    seed: int = 0


def evenly(count: int, total: int) -> list[int]:
    """Indices of `count` items spread evenly over `total` (all of them when there are fewer)."""
    if total <= count:
        return list(range(total))
    return sorted({int(i) for i in np.linspace(0, total - 1, count)})


def clip_frames(name: str, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly over the named clip, (H, W, 3) uint8; only those are kept
    in memory while the clip is decoded."""
    from vcm.media import FrameSource
    from vcm.media.clips import clip_path

    path = clip_path(name)
    with FrameSource(path) as source:
        total = source.expected_frames
    if total is None:  # the container does not list its frames: count them
        with FrameSource(path) as source:
            total = sum(1 for _ in source)
    wanted = set(evenly(count, total))
    with FrameSource(path) as source:
        return [frame for index, frame in enumerate(source) if index in wanted]


def training_frames() -> list[np.ndarray]:
    """The sample's train split (every SAMPLE_FRAME_STEP-th frame) and CLIP_FRAMES of each train clip."""
    from vcm.media.clips import CLIP_SPLITS
    from vcm.media.samples import SAMPLE_SPLITS, sample_frames

    frames = list(sample_frames(*SAMPLE_SPLITS["train"], step=SAMPLE_FRAME_STEP))
    for name in CLIP_SPLITS["train"]:
        frames += clip_frames(name, CLIP_FRAMES)
    return frames


def validation_frames() -> list[np.ndarray]:
    """A few frames of the sample's validation split and of each validation clip."""
    from vcm.media.clips import CLIP_SPLITS
    from vcm.media.samples import SAMPLE_SPLITS, sample_frames

    frames = list(sample_frames(*SAMPLE_SPLITS["validation"], step=VALIDATION_SAMPLE_STEP))
    for name in CLIP_SPLITS["validation"]:
        frames += clip_frames(name, VALIDATION_CLIP_FRAMES)
    return frames


def load_run(path: Path = RUN_FILE) -> dict[str, Any]:
    """The run's state: phase "base-run", model (the codec's shape and weights), step, megapixels
    seen, settings (RunSettings), origin (where it started), history (loss terms per
    checkpoint), validation (QualityCurves.summary per validation step) and sessions (date,
    steps and minutes of each continuation)."""
    state = read_checkpoint(path)
    if state.get("phase") != "base-run":
        raise InputError(f"{path} is not a base-codec run (it holds phase {state.get('phase')!r})")
    return state


def run_model(state: dict[str, Any]) -> Trainable:
    """The run's codec, with identity adapters."""
    model = state["model"]
    return Trainable.from_state({"shape": model["shape"], "codec": model["codec"]}).eval()


def save_run(state: dict[str, Any], path: Path) -> None:
    with atomic_output(path) as temporary:
        torch.save(state, temporary)


Coded = list[list[tuple[int, float]]]  # per setting (quality, JPEG quality or QP), per frame: (bits, PSNR dB)


class QualityCurves:
    """Rate-quality of codecs on fixed (H, W, 3) uint8 frames, per frame, against Pillow JPEG and
    x265 HEVC intra computed once; quality is RGB PSNR (dB) as vcm.lic.evaluate's "human"."""

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        from vcm.lic.evaluate import JPEG_QUALITIES, jpeg
        from vcm.lic.postfilter import HEVC_QPS, hevc_intra
        from vcm.media.quality import luma_psnr

        self.frames = list(frames)
        self.jpeg: Coded = []
        for quality in JPEG_QUALITIES:
            coded = [jpeg(frame, quality) for frame in self.frames]
            self.jpeg.append([(8 * size, luma_psnr(frame, picture))
                              for frame, (picture, size) in zip(self.frames, coded, strict=True)])
        self.hevc: Coded = []
        for qp in HEVC_QPS:
            decoded, sizes = hevc_intra(self.frames, qp)
            self.hevc.append([(8 * size, luma_psnr(frame, picture))
                              for frame, picture, size in zip(self.frames, decoded, sizes, strict=True)])

    def lic(self, model: Trainable) -> Coded:
        """Real range coding of every frame at every quality of the model's base codec."""
        from vcm.lic.coding import LearnedCodec
        from vcm.media.quality import luma_psnr

        codec = LearnedCodec(Trainable.from_state(model.codec_state()))
        found = []
        for quality in range(1, codec.qualities + 1):
            row = []
            for frame in self.frames:
                z_string, y_string = codec.encode_picture(frame, quality, machine=False)
                decoded = codec.decode_picture(z_string, y_string, frame.shape[1], frame.shape[0], quality)
                row.append((8 * (len(z_string) + len(y_string)), luma_psnr(frame, decoded)))
            found.append(row)
        return found

    def curve(self, coded: Coded, indices: Sequence[int] | None = None) -> list[tuple[float, float]]:
        """(bits per pixel over the chosen frames, their mean PSNR) per setting, lowest rate first."""
        from vcm.lic.evaluate import pixel_count

        chosen = range(len(self.frames)) if indices is None else indices
        pixels = pixel_count([self.frames[i] for i in chosen])
        points = [(sum(row[i][0] for i in chosen) / pixels, float(np.mean([row[i][1] for i in chosen])))
                  for row in coded]
        return sorted(points)

    def summary(self, coded: Coded, indices: Sequence[int] | None = None) -> dict[str, Any]:
        """The model's curve on the chosen frames and its BD-rates (percent) against JPEG and HEVC."""
        mine = self.curve(coded, indices)

        def against(anchor: Coded) -> float | None:
            theirs = self.curve(anchor, indices)
            value = bd_rate([p[0] for p in theirs], [p[1] for p in theirs], [p[0] for p in mine],
                            [p[1] for p in mine])
            return None if value is None else round(value, 2)

        return {"bd_jpeg": against(self.jpeg), "bd_hevc": against(self.hevc),
                "points": [[round(rate, 4), round(psnr, 3)] for rate, psnr in mine]}


def continue_run(minutes: float, path: Path = RUN_FILE, progress: Progress | None = None,
                 log: Callable[[str], None] = print, learning_rate: float | None = None) -> dict[str, Any]:
    """Train the run in `path` for about `minutes` of wall time, saving every checkpoint_every
    steps and measuring a validation point every validate_every steps and at the end.
    `learning_rate` replaces the run's for this session (the published recipes end at a tenth)."""
    if not minutes > 0:
        raise InputError(f"--minutes must be above 0, got {minutes}")
    if learning_rate is not None and not 0 < learning_rate <= 1e-2:
        raise InputError(f"--learning-rate must be in (0, 0.01], got {learning_rate}")
    state = load_run(path)
    settings = RunSettings(**state["settings"])
    learning_rate = settings.learning_rate if learning_rate is None else learning_rate
    use_cores()
    model = run_model(state)
    log("reading the training and validation frames ...")
    frames, validation = training_frames(), QualityCurves(validation_frames())
    trained = list(model.codec.parameters())
    for parameter in [*model.encoder_adapter.parameters(), *model.decoder_adapters.parameters()]:
        parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(trained, lr=learning_rate)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                               lambda local: min(1.0, (local + 1) / settings.warmup))
    start_step, started = state["step"], time.monotonic()
    generator = np.random.default_rng([settings.seed, start_step])
    torch.manual_seed(settings.seed + start_step)
    if not state["validation"]:  # where the run starts from
        _validate(state, model, validation, start_step, log)
    running: dict[str, list[float]] = {}
    step = start_step
    model.codec.train()
    while time.monotonic() - started < 60 * minutes:
        values = optimise_step(model, "base", random_crops(frames, settings.batch, settings.crop, generator),
                               generator, optimizer, warmup)
        step += 1
        for name, value in values.items():
            running.setdefault(name, []).append(value)
        if progress:
            progress(step, values)
        state["megapixels"] += settings.batch * settings.crop ** 2 / 1e6
        if step % settings.checkpoint_every == 0:
            _record(state, model, step, running)
            running = {}
            if step % settings.validate_every == 0:
                _validate(state, model, validation, step, log)
            save_run(state, path)
    if running:
        _record(state, model, step, running)
    if not state["validation"] or state["validation"][-1]["step"] != step:
        _validate(state, model, validation, step, log)
    state["sessions"].append({"date": time.strftime("%Y-%m-%d"), "from_step": start_step, "to_step": step,
                              "minutes": round((time.monotonic() - started) / 60, 1),
                              "learning_rate": learning_rate})
    save_run(state, path)
    return state


def _record(state: dict[str, Any], model: Trainable, step: int, running: dict[str, list[float]]) -> None:
    state["model"], state["step"] = model.codec_state(), step
    state["history"].append({"step": step, "megapixels": round(state["megapixels"], 1),
                             **{name: round(float(np.mean(v)), 5) for name, v in running.items()}})


def _validate(state: dict[str, Any], model: Trainable, validation: QualityCurves, step: int,
              log: Callable[[str], None]) -> None:
    model.codec.eval()
    point = {"step": step, "megapixels": round(state["megapixels"], 1),
             **validation.summary(validation.lic(model))}
    model.codec.train()
    state["validation"].append(point)
    log(f"step {step}: validation BD-rate {point['bd_jpeg']} % against JPEG, "
        f"{point['bd_hevc']} % against HEVC")

