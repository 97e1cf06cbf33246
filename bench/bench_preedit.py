"""Pre-editor speed at 1280x720 on this CPU (inference only, batch 1, `PreEditor.edit_frames`),
against a uniform QP 30 HEVC encode of the same frames.

Rows: each shipped model as trained (a smoothing weighted below NEGLIGIBLE_WEIGHT everywhere
is skipped, so a model's speed depends on what it learned); the worst case of each network
width: every smoothing in use and a learned correction (residual 16 levels); the lightest
edit of each width: one smoothing (sigma 0.6, as the shipped model for machines uses), no
correction; and that edit from a network of one channel and no hidden layer, which costs
almost nothing: the full-resolution work (input, upsampled weights, smoothing, blend, output)
alone.

Usage: .venv/bin/python bench/bench_preedit.py [--frames 30]
Prints a Markdown table; per frame, the median over the frames, every row measured in one run.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vcm.codec import QPMap, encode
from vcm.media import fetch_sample, read_video
from vcm.preedit.network import SHIPPED, PreEditor, load_preeditor

WIDTHS = (32, 16)


def worst_case(width: int) -> PreEditor:
    """A network of `width` channels that uses every smoothing and its correction everywhere."""
    network = PreEditor(width=width, residual=16 / 255)
    with torch.no_grad():
        network.head.bias.zero_()
        torch.nn.init.normal_(network.head.weight, std=0.1)
        if network.correction is not None:
            torch.nn.init.normal_(network.correction.weight, std=0.1)
    return network.eval()


def lightest(width: int, depth: int = 3) -> PreEditor:
    """A network of `width` channels and `depth` hidden layers that blends in the first smoothing
    only, no correction."""
    network = PreEditor(width=width, depth=depth)
    with torch.no_grad():
        network.head.bias.copy_(torch.tensor([0.0, 0.0] + [-30.0] * (len(network.head.bias) - 2)))
        torch.nn.init.normal_(network.head.weight, std=0.01)
    return network.eval()


def per_frame(network: PreEditor, frames: np.ndarray) -> float:
    """Median seconds of one edit_frames call on one frame."""
    network.edit_frames(frames[:2])  # warm-up
    seconds = []
    for frame in frames:
        start = time.perf_counter()
        network.edit_frames(frame[None])
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    clip = read_video(fetch_sample(), max_frames=args.frames).frames
    frames = np.stack([np.asarray(Image.fromarray(f).resize((1280, 720), Image.Resampling.BILINEAR))
                       for f in clip])
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        encode(frames, [QPMap(30)] * len(frames), Path(work) / "u.mp4", fps=25)
        encoding = (time.perf_counter() - start) / len(frames)
    networks = {f"shipped: {name}": load_preeditor(name) for name in SHIPPED}
    networks |= {f"width {width}, every smoothing and a correction": worst_case(width) for width in WIDTHS}
    networks |= {f"width {width}, one smoothing": lightest(width) for width in WIDTHS}
    networks["width 1, no hidden layer, one smoothing (the full-resolution work alone)"] = lightest(1, 0)
    print(f"{len(frames)} frames of 1280x720, {os.cpu_count()} cores; HEVC encode at QP 30 alone: "
          f"{encoding * 1000:.1f} ms/frame ({1 / encoding:.1f} frames/s)\n")
    print("| pre-editor | parameters | edit per frame | pre-edit + encode vs encode alone |")
    print("|---|---|---|---|")
    for name, network in networks.items():
        edit = per_frame(network, frames)
        parameters = sum(p.numel() for p in network.parameters())
        print(f"| {name} | {parameters} | {edit * 1000:.1f} ms ({1 / edit:.1f} frames/s) | "
              f"{(edit + encoding) / encoding:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
