"""Codec proxy calibration: over real frames and uniform QPs 20-45, the rank correlation
of the proxy's rate with the bytes of real x265 intra encodes (over all encodes, and within
one QP across images, where QP cannot explain the order), and the error of its luma PSNR
against the real decoded luma PSNR.

Usage: .venv/bin/python bench/bench_proxy.py [--frames 4]
Frames: every 100th frame of the sample clip plus the face photos (letterboxed to 480x480).
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vcm.codec import QPMap, decode, encode
from vcm.eval.metrics import luma_psnr
from vcm.media import fetch_sample, luma_of, read_video
from vcm.media.face_clips import letterbox, load_photo
from vcm.preedit.proxy import proxy_code

QPS = (20, 25, 30, 35, 40, 45)
PHOTOS = ("obama", "astronaut", "grace_hopper")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=4, help="sample-clip frames (every 100th)")
    args = parser.parse_args()
    clip = read_video(fetch_sample(), max_frames=100 * args.frames).frames[::100]
    photos = [np.asarray(Image.fromarray(letterbox(load_photo(n))).resize((480, 480))) for n in PHOTOS]
    real_bytes, proxy_bytes, real_psnr, proxy_psnr, pixels = [], [], [], [], []
    with tempfile.TemporaryDirectory() as work:
        for index, frame in enumerate([*clip, *photos]):
            image = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255
            rows, cols = -(-frame.shape[0] // 16), -(-frame.shape[1] // 16)
            for qp in QPS:
                path = Path(work) / f"{index}_{qp}.mp4"
                real_bytes.append(encode(frame[None], [QPMap(qp)], path, gop=1).frames[0].bytes)
                pixels.append(frame.shape[0] * frame.shape[1])
                real_psnr.append(luma_psnr(luma_of(frame)[None], decode(path).luma))
                with torch.no_grad():
                    output = proxy_code(image, torch.full((1, rows, cols), float(qp)))
                proxy_bytes.append(output.bits.item() / 8)
                luma = output.luma[0, 0].round().clamp(0, 255).numpy().astype(np.uint8)
                proxy_psnr.append(luma_psnr(luma_of(frame)[None], luma[None]))
    error = np.array(proxy_psnr) - np.array(real_psnr)
    ratio = np.array(proxy_bytes) / np.array(real_bytes)
    print(f"{len(real_bytes)} encodes ({len(clip)} sample frames + {len(PHOTOS)} photos x QPs {QPS})")
    print("| measure | value |\n|---|---|")
    print(f"| Spearman rank correlation, proxy rate vs x265 intra bytes | "
          f"{spearman(np.array(real_bytes), np.array(proxy_bytes)):.3f} |")
    within = [spearman(*(np.array(values)[i::len(QPS)] / np.array(pixels)[i::len(QPS)]
                         for values in (real_bytes, proxy_bytes))) for i in range(len(QPS))]
    print(f"| Spearman within one QP across the {len(clip) + len(PHOTOS)} images, bits/pixel "
          f"(median over QPs, min-max) | {np.median(within):.3f} ({min(within):.3f}-{max(within):.3f}) |")
    print(f"| proxy / real bytes (median, min-max) | {np.median(ratio):.2f} "
          f"({ratio.min():.2f}-{ratio.max():.2f}) |")
    print(f"| luma PSNR error, proxy - real (mean, mean abs, max abs) | {error.mean():+.2f} dB, "
          f"{np.abs(error).mean():.2f} dB, {np.abs(error).max():.2f} dB |")


if __name__ == "__main__":
    main()
