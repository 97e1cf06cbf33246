"""Learned-codec benchmark (issue 15, 32): rate-accuracy on held-out frames for people, detection
and classification; BD-rates against JPEG and HEVC intra; the share of the fine-tuning gain the
adapters recover, over seeds; whether the encoder adapter leaves people's picture unchanged;
decoding speed at 768x576.

Everything trains on the training frames (the sample's train split and the train clips) from
the base run's codec, which the shipped model must hold (checked first). Seed 0's adapters are
the shipped ones; the other adapter seeds and every fine-tuned upper bound (one per task and
seed) are trained here into WORK (resumable; `vcm lic train --work WORK` leaves seed 0's
bounds there). Seed i's adapters are measured against seed i's bounds, on frames of the test
clips, which no training or choice has seen, and for comparison on the validation clips
(people and classification on frames spread over each clip, detection on every 8th frame
holding an object at the operating score; speed on the sample's 768x576 test frames).

Usage: .venv/bin/python bench/bench_lic.py [--work out/lic] [--out out/lic-bench]
       [--clip-frames 16] [--detect-step 8] [--seeds 0 1 2] [--repeats 5]
Prints markdown; writes the report (index.html, rate_accuracy.png, results.json/csv) into --out.
"""

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from vcm.eval.bdrate import bd_metric, bd_rate
from vcm.lic.base_run import load_run, run_model, training_frames
from vcm.lic.coding import DEFAULT_QUALITY, LearnedCodec
from vcm.lic.distortions import MACHINE_TASKS, TASKS
from vcm.lic.evaluate import (
    DETECT_FRAME_STEP,
    METHODS,
    Point,
    TaskMetrics,
    curve,
    evaluate_sets,
    gap_recovered,
    summary,
    test_sets,
)
from vcm.lic.pipeline import RECIPE
from vcm.lic.postfilter import hevc_intra
from vcm.lic.report import write_report
from vcm.lic.train import Trainable, completed, parameter_count, read_checkpoint, train_phase
from vcm.media.samples import SAMPLE_SPLITS, sample_frames
from vcm.rounding import rounded
from vcm.tasks.registry import DETECT_MIN_SCORE


def check_frozen_base(shipped: LearnedCodec) -> None:
    """Refuse when the shipped model's codec is not the base run's (the bounds start from the run)."""
    run = load_run()["model"]["codec"]
    mine = shipped.model.codec.state_dict()
    if set(run) != set(mine) or any(not torch.equal(run[name], mine[name]) for name in run):
        raise SystemExit("bench_lic: the shipped lic.pt holds another codec than the base run; "
                         "assemble it again with `vcm lic train` after the run's last session")


@functools.cache
def training_frames_once() -> tuple[np.ndarray, ...]:
    return tuple(training_frames())


def every_ten_seconds() -> Callable[[int, int, dict[str, float]], None]:
    """A training progress callback that prints a line at most every 10 s."""
    last = [time.monotonic()]

    def report(step: int, steps: int, values: dict[str, float]) -> None:
        if time.monotonic() - last[0] >= 10 or step == steps:
            last[0] = time.monotonic()
            terms = ", ".join(f"{name} {value:.3g}" for name, value in values.items())
            print(f"  step {step}/{steps}: {terms}", flush=True)
    return report


def trained(work: Path, phase: str, seed: int) -> Trainable:
    """`phase` of the recipe at `seed`, trained from the base run into WORK unless finished there
    (seed 0 in WORK/PHASE.pt, where `vcm lic train` leaves it; others in WORK/PHASE-seedN.pt)."""
    settings = replace(RECIPE[phase], seed=seed)
    checkpoint = work / (f"{phase}.pt" if seed == 0 else f"{phase}-seed{seed}.pt")
    if not completed(checkpoint, phase, settings):
        print(f"training {phase} with seed {seed} ...", flush=True)
        work.mkdir(parents=True, exist_ok=True)
        train_phase(run_model(load_run()), phase, training_frames_once(), checkpoint, settings,
                    every_ten_seconds())
    return Trainable.from_state(read_checkpoint(checkpoint)["model"]).eval()


def human_change(points: Sequence[Point]) -> dict[str, object]:
    """People's picture (the base decoder's) from the adapted bitstream against the base
    bitstream: BD-PSNR (dB at equal rate), and PSNR (dB) and bits (percent) quality by quality."""
    base, adapted = curve(points, "lic-base", "human"), curve(points, "lic-adapters", "human")
    psnr = [a - b for a, b in zip(adapted[1], base[1], strict=True)]
    rate = [100 * (a / b - 1) for a, b in zip(adapted[0], base[0], strict=True)]
    return {"bd_psnr_db": rounded(bd_metric(*base, *adapted), "db"),
            "psnr_db_per_quality": [rounded(v, "db") for v in psnr],
            "bpp_percent_per_quality": [rounded(v, "percent") for v in rate]}


LIC_METHODS = ("lic-base", "lic-adapters", "lic-finetuned")


@dataclass
class SeedComparison:
    """Seed i's adapters against seed i's bounds on one split's frames: `points` are the first
    seed's (every method asked for); gaps, savings (BD-rate vs the base, percent) and people's
    picture changes are per seed."""

    points: list[Point]
    frames: dict[str, int]
    objects: int
    gaps: dict[str, list[float | None]]
    savings: dict[str, dict[str, list[float | None]]]
    changes: list[dict[str, object]]


def compare_seeds(sets: dict[tuple[str, ...], list[np.ndarray]], adapters: dict[int, LearnedCodec],
                  bounds: dict[int, dict[str, LearnedCodec]], methods: Sequence[str],
                  progress: Callable[[str], None]) -> SeedComparison:
    """Measure every seed of `adapters` (with its `bounds`) on the frame sets (tasks -> frames);
    the first seed with `methods`, the others with the adapters and bounds only."""
    metrics = {tasks: TaskMetrics(frames, tasks) for tasks, frames in sets.items()}

    def measured(seed: int, chosen: Sequence[str]) -> list[Point]:
        return evaluate_sets(sets, adapters[seed], bounds[seed], progress, chosen, metrics)

    seeds = list(adapters)
    points = measured(seeds[0], methods)
    shared = [p for p in points if p.method not in ("lic-adapters", "lic-finetuned")]
    gaps: dict[str, list[float | None]] = {task: [] for task in MACHINE_TASKS}
    savings: dict[str, dict[str, list[float | None]]] = {task: {"adapters": [], "finetuned": []}
                                                         for task in MACHINE_TASKS}
    changes = []
    for seed in seeds:
        seed_points = (points if seed == seeds[0]
                       else shared + measured(seed, ("lic-adapters", "lic-finetuned")))
        changes.append(human_change(seed_points))
        for task in MACHINE_TASKS:
            gaps[task].append(gap_recovered(seed_points, task))
            base_curve = curve(seed_points, "lic-base", task)
            for method in ("adapters", "finetuned"):
                saving = bd_rate(*base_curve, *curve(seed_points, f"lic-{method}", task))
                savings[task][method].append(rounded(saving, "percent"))
    objects = sum(d.score >= DETECT_MIN_SCORE for m in metrics.values() if "detect" in m.tasks
                  for found in m.reference_detections for d in found)
    counts = {"+".join(tasks): len(frames) for tasks, frames in sets.items()}
    return SeedComparison(points, counts, int(objects), gaps, savings, changes)


def frames_per_second(run: Callable[[], object], count: int, repeats: int) -> float:
    """Median over repeats of count / seconds of run()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def speed(codec: LearnedCodec, frames: list[np.ndarray], repeats: int) -> dict[str, float]:
    """Frames/s at the frames' size: encode, decode per task (both at the default quality), HEVC
    decode + post-filter."""
    quality = DEFAULT_QUALITY
    strings = [codec.encode_picture(frame, quality) for frame in frames]
    height, width = frames[0].shape[:2]
    result = {"encode": frames_per_second(lambda: [codec.encode_picture(f, quality) for f in frames],
                                          len(frames), repeats)}
    for task in TASKS:
        result[f"decode {task}"] = frames_per_second(
            lambda task=task: [codec.decode_picture(z, y, width, height, quality, task) for z, y in strings],
            len(frames), repeats)
    decoded, _ = hevc_intra(frames, 37)
    for task in MACHINE_TASKS:
        result[f"post-filter {task} (after HEVC decoding)"] = frames_per_second(
            lambda task=task: [codec.postfilter(picture, task) for picture in decoded], len(frames), repeats)
    return {name: round(value, 2) for name, value in result.items()}


def _percents(values: Sequence[float | None]) -> str:
    return ", ".join("n/a" if v is None else f"{v:+.1f} %" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("out/lic"))
    parser.add_argument("--out", type=Path, default=Path("out/lic-bench"))
    parser.add_argument("--clip-frames", type=int, default=16)
    parser.add_argument("--detect-step", type=int, default=DETECT_FRAME_STEP)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    base = LearnedCodec.load()
    check_frozen_base(base)
    adapters = {seed: LearnedCodec(trained(args.work, "adapters", seed), base.postfilters) if seed else base
                for seed in args.seeds}
    bounds = {seed: {task: LearnedCodec(trained(args.work, f"finetune-{task}", seed))
                     for task in MACHINE_TASKS} for seed in args.seeds}
    progress = lambda what: print(what, flush=True)  # noqa: E731
    splits = {split: compare_seeds(test_sets(args.clip_frames, args.detect_step, split), adapters, bounds,
                                   methods, progress)
              for split, methods in (("validation", LIC_METHODS), ("test", METHODS))}
    test = splits["test"]
    result = summary(test.points)
    model = base.model
    result["settings"] = {"frames": f"{args.clip_frames} of each clip (people, classification); every "
                          f"{args.detect_step}th frame of each clip holding an object at the operating score "
                          "(detection)", "seeds": args.seeds}
    for split, comparison in splits.items():
        result[split] = {"frames": comparison.frames, "detection_objects": comparison.objects,
                         "gap_recovered_per_seed": comparison.gaps,
                         "bd_rate_vs_base_per_seed": comparison.savings}
    result["test"]["human_change_per_seed"] = test.changes
    result["parameters"] = {"base": parameter_count([model.codec]),
                            "encoder_adapter": parameter_count([model.encoder_adapter]),
                            **{f"decoder_adapter {t}": parameter_count([model.decoder_adapters[t]])
                               for t in MACHINE_TASKS},
                            "post-filter": parameter_count([next(iter(base.postfilters.values()))])}
    speed_frames = list(sample_frames(SAMPLE_SPLITS["test"][0], SAMPLE_SPLITS["test"][0] + 5))  # 768x576
    result["frames_per_second"] = speed(base, speed_frames, args.repeats)
    result["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    page = write_report(result, args.out)

    counts = test.frames
    print(f"\n## vcm lic benchmark ({result['machine']}; test clips: {counts['human+classify']} frames for "
          f"people and classification, {counts.get('detect', 0)} frames with {test.objects} objects for "
          "detection)\n")
    print("| method | task | setting | bits/pixel | metric |\n|---|---|---|---|---|")
    for p in result["points"]:
        print(f"| {p['method']} | {p['task']} | {p['setting']} | {p['bpp']:.4f} | {p['metric']:.4f} |")
    print("\n| comparison | task | BD-rate |\n|---|---|---|")
    for name, tasks in result["bd_rate_percent"].items():
        for task, value in tasks.items():
            print(f"| {name} | {task} | {'n/a' if value is None else f'{value:+.1f} %'} |")
    print("\n| clips | task | measured on | adapters vs base, per seed | fine-tuned vs base, per seed "
          "| gap recovered, per seed | mean ± std |\n|---|---|---|---|---|---|---|")
    for split, comparison in splits.items():
        for task, values in comparison.gaps.items():
            known = [v for v in values if v is not None]
            spread = (f"{np.mean(known):.2f} ± {np.std(known):.2f} ({len(known)} of {len(values)})"
                      if known else "n/a")
            on = (f"{comparison.objects} objects in {comparison.frames.get('detect', 0)} frames"
                  if task == "detect" else f"{6 * comparison.frames['human+classify']} tiles")
            savings = comparison.savings[task]
            shares = ", ".join("n/a" if v is None else f"{v:.2f}" for v in values)
            print(f"| {split} | {task} | {on} | {_percents(savings['adapters'])} | "
                  f"{_percents(savings['finetuned'])} | {shares} | {spread} |")
    print("\n| seed | people's picture: BD-PSNR (dB) | PSNR change per quality (dB) "
          "| bits change per quality (%) |\n|---|---|---|---|")
    for seed, change in zip(args.seeds, test.changes, strict=True):
        print(f"| {seed} | {change['bd_psnr_db']} | {change['psnr_db_per_quality']} | "
              f"{change['bpp_percent_per_quality']} |")
    print("\n| parameters | count |\n|---|---|")
    for name, count in result["parameters"].items():
        print(f"| {name} | {count} ({count / result['parameters']['base']:.1%} of the base) |")
    print("\n| 768x576, frames/s (median of repeats) | |\n|---|---|")
    for name, value in result["frames_per_second"].items():
        print(f"| {name} | {value} |")
    print(f"\nreport: {page}")
    print(json.dumps({split: c.gaps for split, c in splits.items()}, indent=None))


if __name__ == "__main__":
    main()
