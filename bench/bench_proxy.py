"""Codec proxy calibration: over real frames and uniform QPs 20-45, the rank correlation
of the proxy's rate with the bytes of real x265 intra encodes (over all encodes, and within
one QP across images, where QP cannot explain the order), and the error of its luma PSNR
against the real decoded luma PSNR. Then what the pre-editor's mildest smoothing (Gaussian,
sigma SMOOTHING_SIGMAS[0]) saves on I- and on P-frames, by x265 (I + 7 P, uniform QP) and by
the proxy (intra, then the zero-motion P-frame proxy chained from its own decoded frames),
with the P/I size ratio of each: whether the proxy prices what an edit saves as x265 does.

Usage: .venv/bin/python bench/bench_proxy.py [--frames 4]
Frames: every 100th frame of the sample clip plus the face photos (letterboxed to 480x480);
for the smoothing table, the sample's frames 0-7, 300-307 and 600-607.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vcm.codec import QPMap, decode, encode
from vcm.media import fetch_sample, luma_of, read_video
from vcm.media.face_clips import letterbox, load_photo
from vcm.media.quality import luma_psnr
from vcm.preedit.network import SMOOTHING_SIGMAS, gaussian_blur
from vcm.preedit.proxy import proxy_code, proxy_code_inter

QPS = (20, 25, 30, 35, 40, 45)
PHOTOS = ("obama", "astronaut", "grace_hopper")
GOP_STARTS, GOP_FRAMES, GOP_QPS = (0, 300, 600), 8, (22, 30, 38)


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
    sample = read_video(fetch_sample(), max_frames=max(GOP_STARTS) + GOP_FRAMES).frames
    with tempfile.TemporaryDirectory() as work:
        smoothing_table(sample, Path(work))


def gop_sizes(frames: np.ndarray, qp: int, work: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """(N, H, W, 3) frames (H, W multiples of 16) coded as I + (N-1) P at one QP ->
    ((x265 I bytes, mean P bytes), (proxy I bytes, mean P bytes))."""
    stats = encode(frames, [QPMap(qp)] * len(frames), work / f"gop_{qp}.mp4", gop=len(frames)).frames
    real = (float(stats[0].bytes), float(np.mean([s.bytes for s in stats[1:]])))
    images = torch.from_numpy(frames.copy()).permute(0, 3, 1, 2).float() / 255
    qp_map = torch.full((1, frames.shape[1] // 16, frames.shape[2] // 16), float(qp))
    with torch.no_grad():
        coded = proxy_code(images[:1], qp_map)
        intra, inter = coded.bits.item() / 8, []
        for image in images[1:]:
            coded = proxy_code_inter(image[None], coded.rgb, qp_map)
            inter.append(coded.bits.item() / 8)
    return real, (intra, float(np.mean(inter)))


def smoothing_table(clip: np.ndarray, work: Path) -> None:
    """Per QP: the saving of the mildest smoothing on I- and P-frames (x265 vs proxy) and the
    P/I size ratio, summed over the GOP_STARTS segments."""
    sigma = SMOOTHING_SIGMAS[0]
    print(f"\nSmoothing by sigma {sigma} px, sample frames {GOP_FRAMES} from each of {GOP_STARTS}:\n")
    print("| QP | I saving, x265 | I saving, proxy | P saving, x265 | P saving, proxy | P/I, x265 "
          "| P/I, proxy |")
    print("|---|---|---|---|---|---|---|")
    for qp in GOP_QPS:
        totals = np.zeros((2, 2, 2))  # (original, smoothed) x (x265, proxy) x (I, P)
        for start in GOP_STARTS:
            frames = clip[start:start + GOP_FRAMES]
            tensor = torch.from_numpy(frames.copy()).permute(0, 3, 1, 2).float() / 255
            smoothed = (gaussian_blur(tensor, sigma).clamp(0, 1) * 255).round().byte()
            smoothed = smoothed.permute(0, 2, 3, 1).numpy()
            for version, pictures in enumerate((frames, smoothed)):
                totals[version] += np.array(gop_sizes(pictures, qp, work))
        saving = 100 * (1 - totals[1] / totals[0])
        ratio = totals[0, :, 1] / totals[0, :, 0]
        print(f"| {qp} | {saving[0, 0]:.1f} % | {saving[1, 0]:.1f} % | {saving[0, 1]:.1f} % "
              f"| {saving[1, 1]:.1f} % | {ratio[0]:.3f} | {ratio[1]:.3f} |")


if __name__ == "__main__":
    main()
