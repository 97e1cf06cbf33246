"""PNG plots of an evaluation (matplotlib, Agg backend)."""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from vcm.atomic import atomic_output
from vcm.eval.runner import ResultRow

DETAIL_PX = 128  # side of the full-scale detail crops in example frames


def _label(axes: plt.Axes, xlabel: str, ylabel: str) -> None:
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


def _save(figure: plt.Figure, path: Path) -> Path:
    """Write the figure to `path` (PNG) atomically and close it."""
    figure.tight_layout()
    try:
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)
    return path


def _sorted_per_method(rows: Sequence[ResultRow], field: str, path: Path, ylabel: str,
                       reference: float | None) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for method in dict.fromkeys(row.method for row in rows):
        values = sorted(getattr(row, field) for row in rows if row.method == method and row.main)
        axes.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=method)
    if reference is not None:
        axes.axhline(reference, color="grey", linestyle="--", linewidth=1)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    _label(axes, "segment (sorted per method)", ylabel)
    return _save(figure, path)


def size_ratio_plot(rows: Sequence[ResultRow], path: Path) -> Path:
    """Size ratio to uniform QP 30 per segment, sorted, one line per method."""
    return _sorted_per_method(rows, "size_ratio", path, "size / uniform QP 30", 1.0)


def detection_rate_plot(rows: Sequence[ResultRow], path: Path) -> Path:
    """Detection rate per segment, sorted, one line per method."""
    return _sorted_per_method(rows, "detection_rate", path, "detection rate", None)


def rate_accuracy_plot(curve_points: dict[str, list[dict[str, float]]], path: Path) -> Path:
    """Bitrate against F1, mAP@0.5 and detection rate, one curve per method."""
    figure, panels = plt.subplots(1, 3, figsize=(15, 4), dpi=110)
    shown = (("f1", "F1 vs original"), ("map50", "mAP@0.5 vs original"), ("detection_rate", "detection rate"))
    for method, points in curve_points.items():
        rates = [p["bitrate_kbps"] for p in points]
        for axes, (metric, _) in zip(panels, shown, strict=True):
            axes.plot(rates, [p[metric] for p in points], marker="o", label=method)
    for axes, (_, label) in zip(panels, shown, strict=True):
        _label(axes, "bitrate (kbit/s)", label)
    return _save(figure, path)


def privacy_utility_plot(curve_points: dict[str, list[dict[str, float]]], path: Path) -> Path:
    """Bitrate against face-identity leak rate and against person detection rate, one curve
    per method (privacy wants the left curves low and the right ones high)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    for method, points in curve_points.items():
        rates = [p["bitrate_kbps"] for p in points]
        left.plot(rates, [p["leak_rate"] for p in points], marker="o", label=method)
        right.plot(rates, [p["person_detection_rate"] for p in points], marker="o", label=method)
    left.set_ylim(-0.03, 1.03)
    right.set_ylim(-0.03, 1.03)
    for axes, label in ((left, "face identity leak rate"), (right, "person detection rate")):
        _label(axes, "bitrate (kbit/s)", label)
    return _save(figure, path)


def example_frame_plot(original: np.ndarray, decoded: np.ndarray, qp_blocks: np.ndarray,
                       truth: Sequence, found: Sequence, title: str, path: Path) -> Path:
    """Original | decoded | QP heat map over the frame | detections (green: original's
    targets, red: found on the decoded frame) | original and decoded detail at full scale
    (DETAIL_PX square around the first target, else the centre), to see what the coding or a
    pre-edit took out."""
    height, width = original.shape[:2]
    figure, axes = plt.subplots(1, 5, figsize=(20, 3.4), dpi=100)
    axes[0].imshow(original)
    axes[0].set_title("original")
    axes[1].imshow(decoded)
    axes[1].set_title("decoded")
    axes[2].imshow(original)
    heat = axes[2].imshow(qp_blocks, cmap="magma_r", alpha=0.6, vmin=0, vmax=51,
                          extent=(0, qp_blocks.shape[1] * 16, qp_blocks.shape[0] * 16, 0))
    axes[2].set_xlim(0, width)
    axes[2].set_ylim(height, 0)
    axes[2].set_title("QP map")
    figure.colorbar(heat, ax=axes[2], fraction=0.035)
    axes[3].imshow(decoded)
    for detections, colour in ((truth, "lime"), (found, "red")):
        for d in detections:
            x1, y1, x2, y2 = d.box
            axes[3].add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=colour,
                                            linewidth=1.2))
    axes[3].set_title("targets (green) / found (red)")
    top, left = _detail_corner(truth, width, height)
    rows, cols = slice(top, top + DETAIL_PX), slice(left, left + DETAIL_PX)
    axes[4].imshow(np.concatenate([original[rows, cols], decoded[rows, cols]], axis=1),
                   interpolation="nearest")
    axes[4].set_title(f"detail {DETAIL_PX} px: original | decoded")
    for axis in axes:
        axis.axis("off")
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)


def _detail_corner(truth: Sequence, width: int, height: int) -> tuple[int, int]:
    """Top-left (row, col) of a DETAIL_PX square centred on the first target (else the frame
    centre), kept inside the frame."""
    if truth:
        x1, y1, x2, y2 = truth[0].box
        centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    else:
        centre_x, centre_y = width / 2, height / 2
    top = int(np.clip(centre_y - DETAIL_PX / 2, 0, max(height - DETAIL_PX, 0)))
    left = int(np.clip(centre_x - DETAIL_PX / 2, 0, max(width - DETAIL_PX, 0)))
    return top, left
