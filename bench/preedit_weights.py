"""What a QP-aware pre-editor does at each QP: its mean blend weights on a test frame of the
sample under a uniform QP map, and the largest total blur weight of any pixel.

Usage: .venv/bin/python bench/preedit_weights.py MODEL [MODEL ...]
(e.g. the checkpoints part `preedit` leaves in out/results/preedit). Prints a Markdown table.
"""

import argparse

import torch

from vcm.media import FrameSource
from vcm.media.samples import SAMPLE_SPLITS, fetch_sample
from vcm.preedit.network import SMOOTHING_SIGMAS, load_preeditor

QPS = (22, 30, 38, 46, 51)
CROP = 256  # pixels of the frame's top-left corner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    with FrameSource(fetch_sample(), start=SAMPLE_SPLITS["test"][0], max_frames=1) as source:
        frame = next(iter(source))
    image = torch.from_numpy(frame[:CROP, :CROP].copy()).permute(2, 0, 1)[None].float() / 255.0
    blurs = " | ".join(f"blur {sigma}" for sigma in SMOOTHING_SIGMAS)
    print(f"| model | QP | keep | {blurs} | largest blur weight |")
    print("|---|---|---|" + "---|" * len(SMOOTHING_SIGMAS) + "---|")
    for model in args.models:
        network = load_preeditor(model)
        for qp in QPS:
            qp_map = torch.full((1, CROP // 16, CROP // 16), float(qp)) if network.qp_aware else None
            with torch.no_grad():
                weights = network.blend_weights(image, qp_map)
            means = " | ".join(f"{float(value):.3f}" for value in weights.mean(dim=(0, 2, 3)))
            print(f"| {model} | {qp} | {means} | {float(1 - weights[:, 0].min()):.3f} |")


if __name__ == "__main__":
    main()
