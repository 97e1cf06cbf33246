"""Pre-editor speed: frames/s of the shipped pre-editor on 1280x720 frames on this CPU
(inference only, batch 1), against a uniform QP 30 HEVC encode of the same frames.

Usage: .venv/bin/python bench/bench_preedit.py [--frames 30] [--model MODEL]
Prints a markdown table; the figures are medians over the frames, measured in one run.
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
from vcm.preedit.network import DEFAULT_MODEL, load_preeditor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a model file (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    clip = read_video(fetch_sample(), max_frames=args.frames).frames
    frames = np.stack([np.asarray(Image.fromarray(f).resize((1280, 720), Image.Resampling.BILINEAR))
                       for f in clip])
    network = load_preeditor(args.model)
    network.edit_frames(frames[:2])
    seconds = []
    for frame in frames:
        start = time.perf_counter()
        network.edit_frames(frame[None])
        seconds.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        encode(frames, [QPMap(30)] * len(frames), Path(work) / "u.mp4", fps=25)
        encode_seconds = (time.perf_counter() - start) / len(frames)
    parameters = sum(p.numel() for p in network.parameters())
    edit = statistics.median(seconds)
    print(f"{len(frames)} frames of 1280x720, {os.cpu_count()} cores")
    print("| measure | value |\n|---|---|")
    print(f"| pre-editor parameters | {parameters} |")
    print(f"| pre-editor, median per frame | {edit * 1000:.1f} ms ({1 / edit:.1f} frames/s) |")
    print(f"| HEVC encode QP 30, per frame | {encode_seconds * 1000:.1f} ms "
          f"({1 / encode_seconds:.1f} frames/s) |")
    print(f"| pre-edit + encode (ratio to encode alone) | {(edit + encode_seconds) / encode_seconds:.2f}x |")


if __name__ == "__main__":
    main()
