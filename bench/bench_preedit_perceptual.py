"""Pre-editors trained for perception, compared on validation clips by VMAF-NEG per bit.

Each setting (SETTINGS) trains seed 0 on the train split (bench_preedit_split.train_frames: the sample's
train range, the train clips, the dev face clips) for --steps steps with a loss of rate +
VMAF-NEG (vmaf-torch through the codec proxy) and, per setting, fidelity (L1 + 1 - MS-SSIM) and
the EfficientNet-Lite0 feature term; then `uniform+preedit` is evaluated against `uniform` over
the 7-point QP ladder on the validation split with libvmaf (`vcm eval --vmaf`), everything
edited (no detector boxes kept: the target here is people, not machines). Nothing here touches
the test split.

Usage: .venv/bin/python bench/bench_preedit_perceptual.py [--steps 150] [--out out/preedit-perceptual]
Progress goes to stderr (a line at least every 10 s in a log). Prints a Markdown table: per
setting, the BD-rates of uniform+preedit against uniform on VMAF-NEG, VMAF, PSNR and MS-SSIM
(pooled over the validation segments).
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch
from bench_preedit_split import SEGMENT, train_frames, validation_pieces

from vcm.eval.runner import EvalConfig, EvalJob, ResultRow, evaluate_videos
from vcm.eval.summary import bd_rates, curves
from vcm.models import load_detector
from vcm.preedit.losses import LossWeights
from vcm.preedit.network import DEFAULT_MODEL, PreEditor
from vcm.preedit.train import TrainConfig, train
from vcm.progress import ProgressCallback, progress_bar, task_reporter

PERCEPTUAL = LossWeights(rate=0.1, fidelity=0.0, perceptual=0.1, task=0.0, vmaf=1.0)


@dataclass(frozen=True)
class Setting:
    """weights: the loss; keep_logit: the initial logit of "keep" (None: the network's default,
    KEEP_BIAS, at which the blurs start with weight e^-8 and the spatial head gets almost no
    gradient); residual: bound of the learned correction (0: blur only); width: channels."""

    weights: LossWeights
    keep_logit: float | None = None
    residual: float = 0.0
    width: int = 32


SETTINGS: dict[str, Setting] = {
    "vmaf-neg": Setting(PERCEPTUAL),
    "vmaf-neg+fidelity": Setting(LossWeights(rate=0.1, fidelity=1.0, perceptual=0.1, task=0.0, vmaf=1.0)),
    "vmaf-neg, keep logit 2": Setting(PERCEPTUAL, 2.0),
    "vmaf-neg, rate 1, keep logit 2": Setting(
        LossWeights(rate=1.0, fidelity=0.0, perceptual=0.1, task=0.0, vmaf=1.0), 2.0),
    "residual 8": Setting(PERCEPTUAL, residual=8 / 255),
    "residual 8, rate 0.3": Setting(
        LossWeights(rate=0.3, fidelity=0.0, perceptual=0.1, task=0.0, vmaf=1.0), residual=8 / 255),
    "residual 16, rate 0.3": Setting(
        LossWeights(rate=0.3, fidelity=0.0, perceptual=0.1, task=0.0, vmaf=1.0), residual=16 / 255),
    "residual 8, rate 0.3, width 64": Setting(
        LossWeights(rate=0.3, fidelity=0.0, perceptual=0.1, task=0.0, vmaf=1.0), residual=8 / 255, width=64),
}
METRICS = ("vmaf_neg", "vmaf", "psnr_y_db", "ms_ssim_y")


def evaluate(model: Path | None, out: Path, report: ProgressCallback) -> list[ResultRow]:
    """uniform (model None) or uniform+preedit rows over the ladder on every validation piece."""
    method = "uniform" if model is None else "uniform+preedit"
    rows: list[ResultRow] = []
    for piece in validation_pieces():
        config = EvalConfig(methods=(method,), segment=SEGMENT, first_segment=piece.first,
                            max_segments=piece.count, ladder=True, perceptual_metrics=True,
                            preedit_model=str(model) if model is not None else DEFAULT_MODEL,
                            preedit_detections=True)
        rows += evaluate_videos(EvalJob((str(piece.path),), config, out), report)[0]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps per setting (150)")
    parser.add_argument("--out", type=Path, default=Path("out/preedit-perceptual"))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with progress_bar() as bar:
        report = task_reporter(bar)
        detector = load_detector()
        frames = train_frames()
        plain = evaluate(None, args.out / "uniform", report)
        print("| setting | " + " | ".join(f"BD {metric}" for metric in METRICS) + " |")
        print("|---|" + "---|" * len(METRICS))
        for name in args.settings:
            setting = SETTINGS[name]
            model = args.out / f"{name.replace(', ', '-').replace(' ', '-')}.pt"
            network = PreEditor(width=setting.width, residual=setting.residual)
            if setting.keep_logit is not None:
                with torch.no_grad():
                    network.head.bias[0] = setting.keep_logit
            config = TrainConfig(steps=args.steps, seed=0, weights=setting.weights, width=setting.width,
                                 residual=setting.residual)
            train(frames, model, detector, config, network=network,
                  progress=lambda step, steps, _, name=name: report(f"train {name}", step, steps))
            edited = evaluate(model, args.out / name, report)
            entry = next(e for e in bd_rates(curves(plain + edited))
                         if e["method"] == "uniform+preedit" and e["reference"] == "uniform")
            cells = [entry.get(f"bd_rate_{metric}_percent") for metric in METRICS]
            print(f"| {name} | " + " | ".join("n/a" if c is None else f"{c:+.1f} %" for c in cells) + " |",
                  flush=True)

if __name__ == "__main__":
    main()
