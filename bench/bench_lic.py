"""Learned-codec benchmark (issue 15): rate-accuracy on held-out frames for people, detection and
classification; BD-rates against JPEG and HEVC intra; the share of the fine-tuning gain the
adapters recover (over adapter training seeds); decoding speed at 768x576.

Everything trains on the training frames (the sample's 0-395 and the train clips) through
`vcm lic train`, which must have run first: its checkpoints in WORK hold the fine-tuned codecs,
which are not shipped (the shipped model is adapter seed 0; other adapter seeds are trained
here from the base run's codec, into WORK); everything here is measured on frames of the test
clips, which no training or choice has seen (speed on the sample's 768x576 test frames).

Usage: .venv/bin/python bench/bench_lic.py [--work out/lic] [--out out/lic-bench]
       [--clip-frames 8] [--adapter-seeds 0 1 2] [--repeats 3]
Prints markdown; writes the report (index.html, rate_accuracy.png, results.json/csv) into --out.
"""

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from vcm.lic.base_run import load_run, run_model, training_frames
from vcm.lic.coding import LearnedCodec
from vcm.lic.distortions import MACHINE_TASKS, TASKS
from vcm.lic.evaluate import METHODS, TaskMetrics, evaluate, gap_recovered, summary, test_frames
from vcm.lic.pipeline import RECIPE, phase_model
from vcm.lic.postfilter import hevc_intra
from vcm.lic.report import write_report
from vcm.lic.train import Trainable, completed, parameter_count, read_checkpoint, train_phase
from vcm.media.samples import SAMPLE_SPLITS, sample_frames


def adapter_seed(work: Path, base: LearnedCodec, seed: int) -> LearnedCodec:
    """The shipped base with adapters trained from `seed` (seed 0: the shipped adapters)."""
    if seed == 0:
        return base
    settings = replace(RECIPE["adapters"], seed=seed)
    checkpoint = work / f"adapters-seed{seed}.pt"
    if not completed(checkpoint, "adapters", settings):
        print(f"training adapters with seed {seed} ...", flush=True)
        train_phase(run_model(load_run()), "adapters", training_frames(), checkpoint, settings)
    return LearnedCodec(Trainable.from_state(read_checkpoint(checkpoint)["model"]), base.postfilters)


def frames_per_second(run: Callable[[], object], count: int, repeats: int) -> float:
    """Median over repeats of count / seconds of run()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def speed(codec: LearnedCodec, frames: list[np.ndarray], repeats: int) -> dict[str, float]:
    """Frames/s at the frames' size: encode (quality 2), decode per task, HEVC decode + post-filter."""
    strings = [codec.encode_picture(frame, 2) for frame in frames]
    height, width = frames[0].shape[:2]
    result = {"encode": frames_per_second(lambda: [codec.encode_picture(f, 2) for f in frames], len(frames),
                                          repeats)}
    for task in TASKS:
        result[f"decode {task}"] = frames_per_second(
            lambda task=task: [codec.decode_picture(z, y, width, height, 2, task) for z, y in strings],
            len(frames), repeats)
    decoded, _ = hevc_intra(frames, 37)
    for task in MACHINE_TASKS:
        result[f"post-filter {task} (after HEVC decoding)"] = frames_per_second(
            lambda task=task: [codec.postfilter(picture, task) for picture in decoded], len(frames), repeats)
    return {name: round(value, 2) for name, value in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("out/lic"))
    parser.add_argument("--out", type=Path, default=Path("out/lic-bench"))
    parser.add_argument("--clip-frames", type=int, default=8)
    parser.add_argument("--adapter-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    needed = [f"finetune-{task}" for task in MACHINE_TASKS]
    missing = [f"{phase}.pt" for phase in needed if not (args.work / f"{phase}.pt").is_file()]
    if missing:  # the fine-tuned upper bounds are not shipped
        raise SystemExit(f"bench_lic: {args.work} lacks {', '.join(missing)}; run `vcm lic train "
                         f"--work {args.work} --out out/lic.pt` first (every phase, resumable)")
    base = LearnedCodec.load()
    finetuned = {task: LearnedCodec(phase_model(args.work, f"finetune-{task}")) for task in MACHINE_TASKS}
    frames = test_frames(args.clip_frames)
    metrics = TaskMetrics(frames)
    progress = lambda what: print(what, flush=True)  # noqa: E731
    points = evaluate(frames, base, finetuned, progress, METHODS, metrics)
    result = summary(points)
    gaps: dict[str, list[float | None]] = {task: [] for task in MACHINE_TASKS}
    for seed in args.adapter_seeds:
        codec = adapter_seed(args.work, base, seed)
        seed_points = points if seed == 0 else [p for p in points if p.method != "lic-adapters"] + evaluate(
            frames, codec, {}, progress, ("lic-adapters",), metrics)
        for task in MACHINE_TASKS:
            gaps[task].append(gap_recovered(seed_points, task))
    model = base.model
    result["settings"] = {"test_frames": f"{args.clip_frames} of each test clip",
                          "frames": len(frames), "adapter_seeds": args.adapter_seeds}
    result["gap_recovered_per_seed"] = gaps
    result["parameters"] = {"base": parameter_count([model.codec]),
                            "encoder_adapter": parameter_count([model.encoder_adapter]),
                            **{f"decoder_adapter {t}": parameter_count([model.decoder_adapters[t]])
                               for t in MACHINE_TASKS},
                            "post-filter": parameter_count([next(iter(base.postfilters.values()))])}
    speed_frames = list(sample_frames(SAMPLE_SPLITS["test"][0], SAMPLE_SPLITS["test"][0] + 5))  # 768x576
    result["frames_per_second"] = speed(base, speed_frames, args.repeats)
    result["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    page = write_report(result, args.out)

    print(f"\n## vcm lic benchmark ({result['machine']}, {len(frames)} frames of the test clips)\n")
    print("| method | task | setting | bits/pixel | metric |\n|---|---|---|---|---|")
    for p in result["points"]:
        print(f"| {p['method']} | {p['task']} | {p['setting']} | {p['bpp']:.4f} | {p['metric']:.4f} |")
    print("\n| comparison | task | BD-rate |\n|---|---|---|")
    for name, tasks in result["bd_rate_percent"].items():
        for task, value in tasks.items():
            print(f"| {name} | {task} | {'n/a' if value is None else f'{value:+.1f} %'} |")
    print("\n| task | gap recovered, seed 0 | per seed | mean ± std |\n|---|---|---|---|")
    for task, values in gaps.items():
        known = [v for v in values if v is not None]
        spread = f"{np.mean(known):.2f} ± {np.std(known):.2f}" if known else "n/a"
        print(f"| {task} | {values[0]} | {[None if v is None else round(v, 3) for v in values]} | {spread} |")
    print("\n| parameters | count |\n|---|---|")
    for name, count in result["parameters"].items():
        print(f"| {name} | {count} ({count / result['parameters']['base']:.1%} of the base) |")
    print("\n| 768x576, frames/s (median of repeats) | |\n|---|---|")
    for name, value in result["frames_per_second"].items():
        print(f"| {name} | {value} |")
    print(f"\nreport: {page}")
    print(json.dumps({"gap_recovered_per_seed": gaps}, indent=None))


if __name__ == "__main__":
    main()
