"""Learned base codec (issue 32): the committed base run (vcm.lic.base_run) on test frames of
clips never used in training or in any choice, against Pillow JPEG and x265 HEVC intra
(BD-rate on RGB PSNR); the run's validation curve (BD-rate against training steps); decoding
speed at 768x576, plain and with a task adapter's work (spatial + frequency branches).

Usage: .venv/bin/python bench/bench_lic_base.py [--clip-frames 8] [--sample-step 22]
       [--figure docs/figures/lic-base.png] [--repeats 5]
Prints markdown tables; writes the figure (rate-PSNR on the test clips, BD-rate against steps).
"""

import argparse
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from vcm.lic.base_run import QualityCurves, clip_frames, load_run, run_model
from vcm.lic.coding import DEFAULT_QUALITY, LearnedCodec
from vcm.lic.evaluate import JPEG_QUALITIES
from vcm.lic.postfilter import HEVC_QPS
from vcm.lic.train import Trainable
from vcm.media.clips import CLIP_SPLITS
from vcm.media.samples import SAMPLE_SPLITS, sample_frames
from vcm.threads import use_cores


def decode_speed(model: Trainable, frames: list[np.ndarray], quality: int, repeats: int) -> dict[str, float]:
    """Frames/s (median of repeats) decoding 768x576 pictures, plain and through a decoder adapter."""
    codec = LearnedCodec(Trainable.from_state(model.codec_state()))
    strings = [codec.encode_picture(frame, quality, machine=False) for frame in frames]
    height, width = frames[0].shape[:2]
    found = {}
    for label, task in (("decode (people)", "human"), ("decode + task adapter", "detect")):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for z_string, y_string in strings:
                codec.decode_picture(z_string, y_string, width, height, quality, task)
            times.append(time.perf_counter() - start)
        found[label] = round(len(frames) / statistics.median(times), 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip-frames", type=int, default=8, help="frames spread over each test clip")
    parser.add_argument("--sample-step", type=int, default=22,
                        help="every N-th frame of the sample's test split")
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/lic-base.png"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    use_cores()
    state = load_run()
    model = run_model(state)
    groups: dict[str, list[int]] = {}
    frames: list[np.ndarray] = []
    for name in CLIP_SPLITS["test"]:
        picked = clip_frames(name, args.clip_frames)
        groups[name] = list(range(len(frames), len(frames) + len(picked)))
        frames += picked
    clips = [index for name in CLIP_SPLITS["test"] for index in groups[name]]
    sample = list(sample_frames(*SAMPLE_SPLITS["test"], step=args.sample_step))
    groups["sample test split (the training camera)"] = list(range(len(frames), len(frames) + len(sample)))
    frames += sample
    print(f"coding {len(frames)} test frames ...", flush=True)
    curves = QualityCurves(frames)
    coded = curves.lic(model)

    shape = model.codec.shape
    print(f"\nbase run at step {state['step']} ({state['megapixels']:.0f} megapixels seen), "
          f"N={shape.channels}, M={shape.latent}, {shape.qualities} qualities\n")
    print("| test frames | frames | BD-rate vs JPEG | BD-rate vs HEVC intra | base: bits/pixel | "
          "base: PSNR (dB) |\n|---|---|---|---|---|---|")
    rows = {f"test clips pooled ({', '.join(CLIP_SPLITS['test'])})": clips, **groups}
    for label, indices in rows.items():
        found = curves.summary(coded, indices)
        rates, psnrs = [p[0] for p in found["points"]], [p[1] for p in found["points"]]
        print(f"| {label} | {len(indices)} | {_percent(found['bd_jpeg'])} | {_percent(found['bd_hevc'])} | "
              f"{rates[0]:.3f} - {rates[-1]:.3f} | {psnrs[0]:.2f} - {psnrs[-1]:.2f} |")

    print("\n| method (test clips pooled) | setting | bits/pixel | PSNR (dB) |\n|---|---|---|---|")
    methods = {"lic base": (coded, [f"q{q}" for q in range(1, len(coded) + 1)]),
               "jpeg": (curves.jpeg, [f"quality {q}" for q in JPEG_QUALITIES]),
               "hevc intra": (curves.hevc, [f"QP {qp}" for qp in HEVC_QPS])}
    plotted = {}
    for method, (values, settings) in methods.items():
        points = [curves.curve([row], clips)[0] for row in values]
        plotted[method] = sorted(points)
        for setting, (rate, psnr) in zip(settings, points, strict=True):
            print(f"| {method} | {setting} | {rate:.4f} | {psnr:.2f} |")

    print("\n| step | megapixels seen | validation BD-rate vs JPEG | vs HEVC intra |\n|---|---|---|---|")
    for point in state["validation"]:
        print(f"| {point['step']} | {point['megapixels']:.0f} | {_percent(point['bd_jpeg'])} | "
              f"{_percent(point['bd_hevc'])} |")

    speed = decode_speed(model, sample[:5], DEFAULT_QUALITY, args.repeats)
    print(f"\n| 768x576, quality {DEFAULT_QUALITY} | frames/s (median of repeats) |\n|---|---|")
    for label, value in speed.items():
        print(f"| {label} | {value} |")
    _figure(plotted, state["validation"], args.figure)
    print(f"\nfigure: {args.figure}")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


def _figure(curves: dict[str, list[tuple[float, float]]], validation: list[dict], out: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for method, points in curves.items():
        left.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=method)
    left.set(xlabel="bits per pixel", ylabel="RGB PSNR (dB)", title="test clips (never trained on)")
    left.legend()
    left.grid(alpha=0.3)
    seen = [point["megapixels"] for point in validation]
    for key, label in (("bd_jpeg", "vs JPEG"), ("bd_hevc", "vs HEVC intra")):
        right.plot(seen, [np.nan if point[key] is None else point[key] for point in validation],
                   marker="o", label=label)
    right.axhline(0, color="grey", linewidth=0.8)
    right.set(xlabel="training megapixels seen", ylabel="BD-rate (%)",
              title="validation BD-rate while training")
    right.legend()
    right.grid(alpha=0.3)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
