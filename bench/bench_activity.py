"""Activity benchmark (issue 14): accuracy of the compressed-domain activity networks on the
held-out test recordings, with ablations, over several training seeds; throughput of the
compressed-domain pipeline against the RGB baseline (frames/s including decoding); and activity
search on the test tiles of the real sample against the detector on every picture.

Variants, all trained on the train split with checkpoints chosen on validation (ensemble
weights and the early-exit threshold too), reported on test:
  alone-intra / alone-mv / alone-residual  each stream network by itself (its final exit)
  independent   the three networks trained alone, weighted ensemble (no distillation)
  joint         the three trained together, one summed loss, weighted ensemble (no distillation)
  pkd           progressive knowledge distillation, weighted ensemble of all exits
  pkd-early     pkd with the early-exit cascade (mv -> mv+intra -> all)
  rgb           the RGB baseline: one network of about the three's parameters on all decoded pictures

Usage: .venv/bin/python bench/bench_activity.py [--data out/activity-data] [--seeds 0 1 2]
       [--speed-recordings 8] [--repeats 3] [--out out/activity-bench] [--confirm-strides 1 3]
Prints markdown tables; writes results.json and a figure into --out.
"""

import argparse
import json
import os
import platform
import statistics
import time
from collections import Counter
from pathlib import Path

import av
import matplotlib
import numpy as np
import torch

from vcm.cdomain.activity import classify_video
from vcm.cdomain.dataset import SPLITS, DatasetConfig, build_split, build_tiles, data_identity, load_split
from vcm.cdomain.model import SHIPPED_MODEL, STAGES, ActivityModel, fit_threshold, fit_weights
from vcm.cdomain.nets import COMPRESSED_STREAMS, STREAMS, ExitNet, parameter_count
from vcm.cdomain.pkd import Checkpoints, train_pkd
from vcm.cdomain.reader import decode_with_vectors
from vcm.cdomain.search import MOVING_KINDS, compressed_search, detector_pipeline
from vcm.cdomain.synthetic import WINDOW
from vcm.cdomain.training import TrainSettings, exit_probabilities
from vcm.cdomain.windows import FIELD_BLOCK, shrink
from vcm.models import load_detector

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def ensemble(nets: dict[str, ExitNet], validation: dict[str, np.ndarray]) -> ActivityModel:
    """A model of `nets` with weights and threshold fitted on validation."""
    probabilities = {s: exit_probabilities(net, s, validation) for s, net in nets.items()}
    model = ActivityModel(nets, fit_weights(probabilities, validation["label"]), 1.0)
    model.threshold = fit_threshold(model, probabilities, validation["label"])
    return model


def accuracies(seed: int, data: Path, splits: dict[str, dict[str, np.ndarray]],
               epochs: int) -> dict[str, float | str]:
    """Test accuracy of every variant for one training seed (checkpoints reused when present)."""
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    checkpoints = Checkpoints(data / "checkpoints" / f"seed{seed}", TrainSettings(epochs=epochs, seed=seed),
                              data_identity(data))

    def progress(phase: str, epoch: int, accuracy: float) -> None:
        print(f"  seed {seed} {phase} epoch {epoch + 1}: validation {accuracy:.3f}", flush=True)

    pkd = train_pkd(train, validation, checkpoints, progress)
    joint = checkpoints.phase("joint", COMPRESSED_STREAMS, train, validation, progress=progress)
    rgb = checkpoints.phase("alone-rgb", ("rgb",), train, validation, progress=progress)
    labels = test["label"]
    result: dict[str, float | str] = {f"alone-{s}": final_accuracy(phase.nets[s], s, test)
                                      for s, phase in pkd.alone.items()}
    independent = ensemble({s: phase.nets[s] for s, phase in pkd.alone.items()}, validation)
    result["independent"] = float(np.mean(independent.answer(test, early_exit=False).label == labels))
    joint_model = ensemble(joint.nets, validation)
    result["joint"] = float(np.mean(joint_model.answer(test, early_exit=False).label == labels))
    result["pkd"] = float(np.mean(pkd.model.answer(test, early_exit=False).label == labels))
    cascade = pkd.model.answer(test)
    result["pkd-early"] = float(np.mean(cascade.label == labels))
    for number, streams in enumerate(STAGES):
        result[f"answered-by-{'+'.join(streams)}"] = float(np.mean(cascade.stage == number))
    result["rgb"] = final_accuracy(rgb.nets["rgb"], "rgb", test)
    result["threshold"] = pkd.model.threshold
    result["order"] = " -> ".join(pkd.order)
    if seed == 0:
        pkd.model.save(data / "bench-model-seed0.pt")
        torch.save(rgb.nets["rgb"].state_dict(), data / "bench-rgb-seed0.pt")
    return result


def final_accuracy(net: ExitNet, stream: str, data: dict[str, np.ndarray]) -> float:
    return float(np.mean(exit_probabilities(net, stream, data)[:, -1].argmax(1) == data["label"]))


def rgb_pipeline(paths: list[Path], net: ExitNet) -> int:
    """Decode every picture, shrink it, classify 16-frame windows with the RGB network; frames."""
    frames, window = 0, []
    net.eval()
    for path in paths:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                window.append(shrink(frame.to_ndarray(format="rgb24")))
                frames += 1
                if len(window) == WINDOW:
                    with torch.no_grad():
                        net(STREAMS["rgb"].prepare({"frames": np.stack(window)[None]}))
                    window = []
    return frames


def motion_only(paths: list[Path]) -> int:
    """The floor of any motion-vector pipeline: decode with vectors exported, 8x8 block fields."""
    frames = 0
    for path in paths:
        for decoded in decode_with_vectors(path):
            decoded.motion(FIELD_BLOCK)
            frames += 1
    return frames


def decode_only(paths: list[Path]) -> int:
    frames = 0
    for path in paths:
        with av.open(str(path)) as container:
            frames += sum(1 for _ in container.decode(video=0))
    return frames


def throughput(paths: list[Path], model: ActivityModel, rgb: ExitNet, repeats: int) -> dict[str, float]:
    """Median frames/s of each pipeline over `repeats` interleaved runs."""
    pipelines = {
        "decode only": lambda: decode_only(paths),
        "decode with motion vectors, block fields": lambda: motion_only(paths),
        "rgb": lambda: rgb_pipeline(paths, rgb),
        "pkd (all streams)": lambda: sum(w.last - w.first + 1 for p in paths
                                         for w in classify_video(p, model, early_exit=False)),
        "pkd-early": lambda: sum(w.last - w.first + 1 for p in paths for w in classify_video(p, model)),
    }
    speeds: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(repeats):
        for name, run in pipelines.items():
            start = time.perf_counter()
            frames = run()
            speeds[name].append(frames / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in speeds.items()}


def search(data: Path, model: ActivityModel, detector_name: str, strides: list[int]) -> dict[str, object]:
    """Recall and cost of the compressed-domain search (detector confirming on every `stride`-th
    picture of flagged windows) against the detector on every picture, on the test tiles of the
    real sample (one run, every pipeline timed end to end)."""
    detector = load_detector(detector_name)
    tiles = build_tiles(data, "test")
    reference = "detector on every picture"
    seconds = {reference: 0.0} | {f"search, stride {stride}": 0.0 for stride in strides}
    truths, results = [], {stride: [] for stride in strides}
    for tile in tiles:
        start = time.perf_counter()
        truths.append(detector_pipeline(tile, detector))
        seconds[reference] += time.perf_counter() - start
        for stride in strides:
            start = time.perf_counter()
            results[stride].append(compressed_search(tile, model, detector, stride))
            seconds[f"search, stride {stride}"] += time.perf_counter() - start
    moving = [(t, w) for t, truth in enumerate(truths) for w in truth if w.moving]
    report: dict[str, object] = {
        "windows": sum(len(truth) for truth in truths), "moving": len(moving),
        "windows_by_kind": dict(Counter(k for _, w in moving for k in set(w.kinds) & set(MOVING_KINDS))),
        "flagged": sum(sum(r.flagged) for r in results[strides[0]]), "threshold": model.search_threshold,
        "detector": detector_name, "seconds": seconds}
    for stride in strides:
        confirmed = [{w.first for w in r.found if w.moving} for r in results[stride]]
        found = sum(w.first in confirmed[t] for t, w in moving)
        report[f"recall, stride {stride}"] = found / max(len(moving), 1)
        report[f"speed-up, stride {stride}"] = seconds[reference] / seconds[f"search, stride {stride}"]
    return report


def plot(summary: dict[str, dict[str, float]], speeds: dict[str, float], path: Path) -> None:
    """Test accuracy (mean, spread over seeds) of each variant, and frames/s of the pipelines."""
    names = [n for n in summary if not n.startswith("answered") and n != "threshold"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    means = [summary[n]["mean"] for n in names]
    spreads = [summary[n]["std"] for n in names]
    colours = ["#4c72b0" if n.startswith("pkd") else "#dd8452" if n == "rgb" else "#999999" for n in names]
    left.barh(names, means, xerr=spreads, color=colours)
    left.set_xlim(0, 1)
    left.set_xlabel("test accuracy (mean and std over seeds)")
    left.invert_yaxis()
    right.barh(list(speeds), list(speeds.values()), color="#55a868")
    right.set_xlabel("frames/s including decoding (median)")
    right.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("out/activity-data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=TrainSettings().epochs)
    parser.add_argument("--speed-recordings", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("out/activity-bench"))
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL,
                        help="the model whose search threshold the search part uses (the shipped one)")
    parser.add_argument("--detector", default="nanodet")
    parser.add_argument("--confirm-strides", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = DatasetConfig()
    for split in SPLITS:
        build_split(args.data, split, config,
                    lambda r, split=split: print(f"  {split} recording {r + 1}", flush=True))
    splits = {split: load_split(args.data, split) for split in SPLITS}
    per_seed = {seed: accuracies(seed, args.data, splits, args.epochs) for seed in args.seeds}
    numeric = [k for k, v in per_seed[args.seeds[0]].items() if not isinstance(v, str)]
    summary = {k: {"mean": statistics.mean(float(r[k]) for r in per_seed.values()),
                   "std": statistics.pstdev(float(r[k]) for r in per_seed.values())} for k in numeric}
    model = ActivityModel.load(args.data / "bench-model-seed0.pt")
    rgb = ExitNet(STREAMS["rgb"])
    rgb.load_state_dict(torch.load(args.data / "bench-rgb-seed0.pt", weights_only=True))
    paths = sorted((args.data / "test").glob("recording_*.mp4"))[:args.speed_recordings]
    speeds = throughput(paths, model, rgb, args.repeats)
    counts = {s: parameter_count(n) for s, n in model.nets.items()} | {"rgb": parameter_count(rgb)}
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}; test: {len(splits['test']['label'])} windows of "
          f"{config.test} recordings; seeds {args.seeds}")
    print("\n| variant | test accuracy (mean ± std over seeds) | per seed |\n|---|---|---|")
    for name in numeric:
        values = " / ".join(f"{r[name]:.3f}" for r in per_seed.values())
        print(f"| {name} | {summary[name]['mean']:.3f} ± {summary[name]['std']:.3f} | {values} |")
    print(f"\ndistillation order per seed: {[r['order'] for r in per_seed.values()]}")
    print(f"parameters: {counts}")
    print(f"\n| pipeline ({len(paths)} test recordings, seed-0 models) | "
          f"frames/s (median of {args.repeats}) | x rgb |\n|---|---|---|")
    for name, speed in speeds.items():
        print(f"| {name} | {speed:.0f} | {speed / speeds['rgb']:.2f} |")
    searched = search(args.data, ActivityModel.load(args.model), args.detector, args.confirm_strides)
    print(f"\n| search, {searched['windows']} test-tile windows | value |\n|---|---|")
    for name, value in searched.items():
        if name != "seconds":
            print(f"| {name} | {value:.3f} |" if isinstance(value, float) else f"| {name} | {value} |")
    for name, value in searched["seconds"].items():
        print(f"| seconds, {name} | {value:.1f} |")
    results = {"per_seed": per_seed, "summary": summary, "frames_per_second": speeds, "parameters": counts,
               "search": searched}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    plot(summary, speeds, args.out / "activity.png")
    print(f"\n{args.out / 'results.json'}, {args.out / 'activity.png'}")


if __name__ == "__main__":
    main()
