"""Restoration-layer benchmark: hot (machine stream) + cold (restoration layer) bytes against a
single human-quality encode (uniform QP 27), at the restored luma PSNR of that encode.

Usage: .venv/bin/python bench/bench_restoration.py [--frames 768] [--scale 1] [--json out.json]

The sample clip (vtest.avi, 10 fps) is cut into GOP-32 segments, each coded on its own as
the edge agent does: the machine stream by the `fast` planner (no verification), a layer
per segment by vcm.restoration.encode_layer. Frames [0, frames/2) are the validation part,
[frames/2, frames) the held-out test part. On validation each method's layer quality q is
chosen: the largest (cheapest) q whose restored PSNR is at least the QP 27 encode's PSNR
minus --goal-db plus --margin-db. The test part is then measured at that q only.

PSNR is luma PSNR (pooled MSE over all frames of a part) of the frames a viewer gets, RGB
(decoded, restored), against the original, both through the encoder's RGB->Y conversion;
the QP 27 and machine rows also give it on the decoder's own Y planes ("plane").
Prints JSON (all figures) and a markdown table.
"""

import argparse
import itertools
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcm.codec import decode, encode
from vcm.edge import EdgeConfig
from vcm.media import fetch_sample, luma_of, read_video
from vcm.models import load_detector
from vcm.pipeline import FrameReport, run_method
from vcm.planners import PlanSettings
from vcm.restoration import METHODS, encode_layer, read_layer, restore_frames

GOP = 32
FPS = 10.0
REFERENCE_QP, MACHINE_REFERENCE_QP = 27, 30


@dataclass(frozen=True)
class Variant:
    """A method as measured: label, registered method, and whether encode_layer gets the
    decoded machine frames."""

    label: str
    method: str
    decoded: bool


VARIANTS = (
    Variant("simulcast", "simulcast", False),
    Variant("residual", "residual", True),
    Variant("complement (blocks by QP)", "complement", False),
    Variant("complement", "complement", True),
)


class Store:
    """Per-segment arrays (originals, machine QPs, decoded machine frames) on disk, read back
    one segment at a time, so the benchmark holds a segment, not the clip."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.starts: list[int] = []

    def put(self, start: int, **arrays: np.ndarray) -> None:
        for name, array in arrays.items():
            np.save(self.folder / f"{name}-{start}.npy", array)
        self.starts.append(start)

    def get(self, start: int, name: str) -> np.ndarray:
        return np.load(self.folder / f"{name}-{start}.npy")


def squared_error(original_luma: np.ndarray, frames: Iterator[np.ndarray] | np.ndarray) -> tuple[float, int]:
    total, count = 0.0, 0
    for reference, frame in zip(original_luma, frames, strict=True):
        luma = frame if frame.ndim == 2 else luma_of(frame)
        total += float(np.sum((reference.astype(np.int32) - luma) ** 2, dtype=np.int64))
        count += reference.size
    return total, count


def psnr(error: tuple[float, int]) -> float:
    return float(10 * np.log10(255.0**2 / (error[0] / error[1])))


def pooled(errors: list[tuple[float, int]]) -> tuple[float, int]:
    return sum(e for e, _ in errors), sum(n for _, n in errors)


def prepare(store: Store, video: np.ndarray, work: Path) -> dict[int, dict[str, Any]]:
    """Machine streams and the uniform QP 27/30 encodes of every segment."""
    detector = load_detector("yolov3-tiny")  # the detector its recorded figures were measured with
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(video), GOP):
        originals = video[start : start + GOP]
        records: list[FrameReport] = []
        path = work / "machine.mp4"
        began = time.perf_counter()
        run_method("fast", originals, FPS, path, detector, PlanSettings(gop=GOP),
                   verify=EdgeConfig("bench").verification(), on_frame=records.append)  # as the agent codes
        machine_seconds = time.perf_counter() - began
        records.sort(key=lambda record: record.index)
        machine = decode(path)
        assert machine.rgb is not None and machine.luma is not None
        original_luma = np.stack([luma_of(frame) for frame in originals])
        row: dict[str, Any] = {"hot": path.stat().st_size, "machine_seconds": machine_seconds,
                               "machine_rgb": squared_error(original_luma, machine.rgb),
                               "machine_plane": squared_error(original_luma, machine.luma)}
        for qp in (REFERENCE_QP, MACHINE_REFERENCE_QP):
            single = work / f"qp{qp}.mp4"
            encode(originals, qp, single, gop=GOP, fps=FPS)
            decoded = decode(single)
            assert decoded.rgb is not None and decoded.luma is not None
            row[f"qp{qp}"] = single.stat().st_size
            row[f"qp{qp}_rgb"] = squared_error(original_luma, decoded.rgb)
            row[f"qp{qp}_plane"] = squared_error(original_luma, decoded.luma)
        store.put(start, originals=originals, luma=original_luma,
                  machine_qp=np.stack([np.asarray(r.qp_map, np.int16) for r in records]),
                  machine=machine.rgb)
        rows[start] = row
    return rows


MEASURED: dict[tuple[str, tuple[int, ...], int], dict[str, Any]] = {}


def measure(store: Store, starts: list[int], variant: Variant, quality: int) -> dict[str, Any]:
    """Cold bytes (in all and per segment), restored squared error and seconds of one variant
    at one quality (each measured once)."""
    key = (variant.label, tuple(starts), quality)
    if key not in MEASURED:
        MEASURED[key] = _measure(store, starts, variant, quality)
    return MEASURED[key]


def _measure(store: Store, starts: list[int], variant: Variant, quality: int) -> dict[str, Any]:
    cold = mask = 0
    per_segment = []
    errors = []
    encode_seconds = restore_seconds = 0.0
    for start in starts:
        originals, machine = store.get(start, "originals"), store.get(start, "machine")
        began = time.perf_counter()
        layer = encode_layer(originals, store.get(start, "machine_qp"), fps=FPS, method=variant.method,
                             quality=quality, machine_decoded=machine if variant.decoded else None)
        encode_seconds += time.perf_counter() - began
        info = read_layer(layer)
        cold += len(layer)
        mask += info.mask_bytes
        per_segment.append(len(layer))
        began = time.perf_counter()
        restored = list(restore_frames(machine, layer))
        restore_seconds += time.perf_counter() - began
        errors.append(squared_error(store.get(start, "luma"), restored))
    frames = len(starts) * GOP
    return {"quality": quality, "cold_bytes": cold, "mask_bytes": mask, "error": pooled(errors),
            "segment_bytes": per_segment, "segment_errors": errors,
            "encode_ms_per_frame": 1000 * encode_seconds / frames,
            "restore_ms_per_frame": 1000 * restore_seconds / frames}


def choose_quality(store: Store, starts: list[int], variant: Variant, floor_db: float,
                   log: list[dict[str, Any]]) -> int:
    """The largest quality (layer QP) whose restored PSNR on `starts` is >= floor_db: a walk
    in steps of 1 from the method's default (PSNR falls as the QP rises)."""
    tried: dict[int, bool] = {}

    def ok(quality: int) -> bool:
        if quality not in tried:
            result = measure(store, starts, variant, quality)
            tried[quality] = psnr(result["error"]) >= floor_db
            log.append({"variant": variant.label, "quality": quality, "cold_bytes": result["cold_bytes"],
                        "psnr": round(psnr(result["error"]), 3)})
        return tried[quality]

    quality = METHODS[variant.method].default_quality
    if ok(quality):
        while quality < 51 and ok(quality + 1):
            quality += 1
        return quality
    while quality > 0 and not ok(quality - 1):
        quality -= 1
    return quality - 1


def at_equal_psnr(log: list[dict[str, Any]], label: str, psnr_db: float, hot: int) -> float | None:
    """hot + cold bytes at exactly psnr_db, log-interpolated between the two qualities of the
    search that bracket it (None when none do)."""
    points = sorted((entry["psnr"], entry["cold_bytes"]) for entry in log if entry["variant"] == label)
    for (low_db, low_bytes), (high_db, high_bytes) in itertools.pairwise(points):
        if low_db <= psnr_db <= high_db and high_db > low_db:
            share = (psnr_db - low_db) / (high_db - low_db)
            return float(np.exp(np.log(low_bytes) + share * (np.log(high_bytes) - np.log(low_bytes)))) + hot
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=768, help="frames of the sample (half validation)")
    parser.add_argument("--scale", type=int, default=1, choices=(1, 2), help="2: 384x288 (2x2 mean)")
    parser.add_argument("--goal-db", type=float, default=0.3)
    parser.add_argument("--margin-db", type=float, default=0.3,
                        help="kept on validation for the test part (0.3: match the QP 27 PSNR there)")
    parser.add_argument("--variants", default=",".join(v.label for v in VARIANTS))
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    wanted = [v for v in VARIANTS if v.label in args.variants.split(",")]
    started = time.perf_counter()
    video = read_video(fetch_sample(), max_frames=args.frames).frames
    if args.scale == 2:
        n, h, w, _ = video.shape
        video = video.reshape(n, h // 2, 2, w // 2, 2, 3).mean(axis=(2, 4)).round().astype(np.uint8)
    count = len(video) // (2 * GOP) * 2 * GOP
    video = video[:count]
    height, width = video.shape[1:3]
    result: dict[str, Any] = {
        "clip": "vtest.avi", "width": width, "height": height, "fps": FPS, "gop": GOP,
        "validation_frames": [0, count // 2], "test_frames": [count // 2, count],
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.processor() or '?'}",
        "date": time.strftime("%Y-%m-%d"), "goal_db": args.goal_db, "margin_db": args.margin_db}
    with tempfile.TemporaryDirectory(prefix="vcm-bench-restoration-") as folder:
        store = Store(Path(folder))
        rows = prepare(store, video, Path(folder))
        del video
        half = count // 2
        parts = {"validation": [s for s in rows if s < half], "test": [s for s in rows if s >= half]}
        for name, starts in parts.items():
            total = {key: sum(rows[s][key] for s in starts) for key in ("hot", "qp27", "qp30")}
            result[name] = {
                "qp27_bytes": total["qp27"], "qp30_bytes": total["qp30"], "hot_bytes": total["hot"],
                "hot_over_qp30": round(total["hot"] / total["qp30"], 4),
                "hot_over_qp27": round(total["hot"] / total["qp27"], 4),
                **{f"{key}_psnr": round(psnr(pooled([rows[s][key] for s in starts])), 3)
                   for key in ("qp27_rgb", "qp27_plane", "qp30_rgb", "qp30_plane", "machine_rgb",
                               "machine_plane")},
                "machine_ms_per_frame": round(1000 * sum(rows[s]["machine_seconds"] for s in starts)
                                              / (len(starts) * GOP), 1),
            }
        floor = result["validation"]["qp27_rgb_psnr"] - args.goal_db + args.margin_db
        result["search"] = []
        result["methods"] = []
        for variant in wanted:
            quality = choose_quality(store, parts["validation"], variant, floor, result["search"])
            validation = result["validation"]
            equal = at_equal_psnr(result["search"], variant.label, validation["qp27_rgb_psnr"],
                                  validation["hot_bytes"])
            row: dict[str, Any] = {
                "method": variant.label, "registered": variant.method, "machine_decoded": variant.decoded,
                "quality": quality, "validation_total_over_qp27_at_equal_psnr":
                    None if equal is None else round(equal / validation["qp27_bytes"], 4)}
            for name, starts in parts.items():
                measured = measure(store, starts, variant, quality)
                reference = result[name]
                restored = psnr(measured["error"])
                row[name] = {
                    "cold_bytes": measured["cold_bytes"], "mask_bytes": measured["mask_bytes"],
                    "cold_over_qp27": round(measured["cold_bytes"] / reference["qp27_bytes"], 4),
                    "total_over_qp27": round((measured["cold_bytes"] + reference["hot_bytes"])
                                             / reference["qp27_bytes"], 4),
                    "restored_psnr": round(restored, 3),
                    "psnr_minus_qp27": round(restored - reference["qp27_rgb_psnr"], 3),
                    "encode_ms_per_frame": round(measured["encode_ms_per_frame"], 1),
                    "restore_ms_per_frame": round(measured["restore_ms_per_frame"], 1),
                    "segments_total_over_qp27": [
                        round((cold + rows[s]["hot"]) / rows[s]["qp27"], 3)
                        for s, cold in zip(starts, measured["segment_bytes"], strict=True)],
                    "segments_psnr_minus_qp27": [
                        round(psnr(error) - psnr(rows[s]["qp27_rgb"]), 3)
                        for s, error in zip(starts, measured["segment_errors"], strict=True)]}
            row["test"]["goal_met"] = (row["test"]["total_over_qp27"] <= 1.15
                                       and row["test"]["psnr_minus_qp27"] >= -args.goal_db)
            result["methods"].append(row)
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print_table(result)


def print_table(result: dict[str, Any]) -> None:
    test = result["test"]
    print(f"\n# restoration layer, test frames {result['test_frames'][0]}-{result['test_frames'][1] - 1} "
          f"of vtest.avi, {result['width']}x{result['height']}, GOP {result['gop']}, {result['machine']}")
    print("| stream | bytes | / QP 27 | luma PSNR (dB) | PSNR - QP 27 |")
    print("|---|---|---|---|---|")
    print(f"| uniform QP 27 (single encode) | {test['qp27_bytes']:,} | 1.000 | {test['qp27_rgb_psnr']:.3f} "
          f"(plane {test['qp27_plane_psnr']:.3f}) | 0 |")
    print(f"| uniform QP 30 | {test['qp30_bytes']:,} | {test['qp30_bytes'] / test['qp27_bytes']:.3f} | "
          f"{test['qp30_rgb_psnr']:.3f} | {test['qp30_rgb_psnr'] - test['qp27_rgb_psnr']:+.3f} |")
    print(f"| hot: machine stream (fast), {test['hot_over_qp30']:.3f}x QP 30 | {test['hot_bytes']:,} | "
          f"{test['hot_over_qp27']:.3f} | {test['machine_rgb_psnr']:.3f} | "
          f"{test['machine_rgb_psnr'] - test['qp27_rgb_psnr']:+.3f} |")
    print(f"| hot + simulcast at one QP (= the QP 27 encode) | {test['hot_bytes'] + test['qp27_bytes']:,} | "
          f"{1 + test['hot_over_qp27']:.3f} | {test['qp27_rgb_psnr']:.3f} | 0 |")
    print("\n| method | q (validation) | cold bytes (mask) | cold / QP 27 | (hot + cold) / QP 27 | "
          "restored PSNR | - QP 27 | encode / restore ms/frame | goal | validation: (hot + cold) / QP 27 "
          "at equal PSNR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in result["methods"]:
        t = row["test"]
        print(f"| {row['method']} | {row['quality']} | {t['cold_bytes']:,} ({t['mask_bytes']:,}) | "
              f"{t['cold_over_qp27']:.3f} | **{t['total_over_qp27']:.3f}** | {t['restored_psnr']:.3f} | "
              f"{t['psnr_minus_qp27']:+.3f} | {t['encode_ms_per_frame']:.0f} / "
              f"{t['restore_ms_per_frame']:.0f} | "
              f"{'met' if t['goal_met'] else 'not met'} | "
              f"{row['validation_total_over_qp27_at_equal_psnr']} |")


if __name__ == "__main__":
    main()
