"""Foundation benchmark: encode frames/s (uniform vs dense per-block QP map), the cost of
attaching a dense map, and detector ms/frame, on 768x576 frames of the sample clip.

Usage: .venv/bin/python bench/bench_foundation.py [--frames 64] [--repeats 3]
Prints a markdown table; figures are medians over the repeats.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vcm.codec import QPMap, encode, grid_shape
from vcm.codec.options import ENCODER_QP
from vcm.codec.roi import RoiFrame
from vcm.media import fetch_sample, read_video
from vcm.models import load_detector


def dense_maps(frames: int, width: int, height: int) -> list[QPMap]:
    """A different random QP in 20..45 for every block of every frame (worst case)."""
    rng = np.random.default_rng(0)
    rows, cols = grid_shape(width, height)
    return [QPMap.from_blocks(rng.integers(20, 46, size=(rows, cols))) for _ in range(frames)]


def encode_fps(frames: np.ndarray, maps: list[QPMap] | int, codec: str, repeats: int) -> float:
    rates = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(repeats):
            start = time.perf_counter()
            encode(frames, maps, Path(work) / "bench.mp4", codec=codec, fps=10)
            rates.append(len(frames) / (time.perf_counter() - start))
    return statistics.median(rates)


def attach_ms(frames: np.ndarray, maps: list[QPMap]) -> float:
    pictures = [av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
                for f in frames]
    carrier = RoiFrame(pictures[0])
    times = []
    for picture, qp_map in zip(pictures, maps, strict=True):
        blocks = qp_map.dense(carrier.rows, carrier.cols)
        start = time.perf_counter()
        carrier.load(picture, blocks, ENCODER_QP)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def detector_ms(frames: np.ndarray) -> float:
    detector = load_detector("yolov3-tiny")  # the detector its recorded figures were measured with
    detector.detect(frames[:2])
    times = []
    for frame in frames:
        start = time.perf_counter()
        detector.detect(frame[None])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def opencv_ms(frames: np.ndarray) -> float | None:
    """The same network through OpenCV's darknet reader, for reference (if cv2 is installed)."""
    try:
        import cv2
    except ImportError:
        return None
    from vcm.models.weights import fetch_yolov3_tiny

    files = fetch_yolov3_tiny()
    net = cv2.dnn.readNetFromDarknet(str(files.cfg), str(files.weights))
    names = net.getUnconnectedOutLayersNames()
    times = []
    for frame in frames:
        start = time.perf_counter()
        net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255.0, (416, 416), crop=False))
        net.forward(names)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    video = read_video(fetch_sample(), max_frames=args.frames)
    frames = video.frames
    maps = dense_maps(len(frames), video.width, video.height)
    print(f"# vcm foundation benchmark: {len(frames)} frames {video.width}x{video.height}, "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"median of {args.repeats}")
    print("| measure | value |")
    print("|---|---|")
    for codec in ("hevc", "h264"):
        uniform = encode_fps(frames, 30, codec, args.repeats)
        dense = encode_fps(frames, maps, codec, args.repeats)
        print(f"| {codec} encode, uniform QP 30 | {uniform:.1f} frames/s |")
        print(f"| {codec} encode, dense random block map | {dense:.1f} frames/s |")
        print(f"| {codec} dense / uniform throughput | {dense / uniform:.2f} |")
    print(f"| attach a dense map to a frame (pixels + {maps[0].blocks.size} block QPs) | "
          f"{attach_ms(frames, maps):.2f} ms |")
    print(f"| YOLOv3-tiny detect, 1 frame (resize to 416x416 included) | "
          f"{detector_ms(frames):.1f} ms/frame |")
    reference = opencv_ms(frames)
    if reference is not None:
        print(f"| same network in OpenCV DNN (reference, no gradients) | {reference:.1f} ms/frame |")


if __name__ == "__main__":
    main()
