"""The evaluation's outputs: results.json and results.csv for machines, rate_accuracy.png and
index.html for people."""

import csv
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from vcm.atomic import atomic_output, write_text_atomic
from vcm.lic.evaluate import TASK_METRICS

STYLES = {"lic-base": "C0o-", "lic-adapters": "C1s-", "lic-finetuned": "C2^--", "jpeg": "C7x:",
          "hevc": "C3d-", "hevc+filter": "C4v--"}


def rate_accuracy_figure(points: list[dict[str, object]], path: Path) -> None:
    """One panel per task: bits per pixel against its metric, one line per method."""
    tasks = list(TASK_METRICS)
    figure, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), dpi=110)
    for panel, task in zip(axes, tasks, strict=True):
        for method, style in STYLES.items():
            chosen = sorted((p["bpp"], p["metric"]) for p in points
                            if p["method"] == method and p["task"] == task)
            if chosen:
                panel.plot(*zip(*chosen, strict=True), style, label=method, markersize=4)
        panel.set_xscale("log")
        panel.set_xlabel("bits per pixel")
        panel.set_ylabel(TASK_METRICS[task])
        panel.set_title(task)
        panel.grid(alpha=0.3)
    labels: dict[str, object] = {}
    for panel in axes:
        for handle, label in zip(*panel.get_legend_handles_labels(), strict=True):
            labels.setdefault(label, handle)
    figure.legend(list(labels.values()), list(labels), loc="lower center", ncol=len(labels), fontsize=8)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def write_report(result: dict[str, object], folder: Path) -> Path:
    """Write every output into `folder`; returns the HTML page."""
    folder.mkdir(parents=True, exist_ok=True)
    points = result["points"]
    write_text_atomic(folder / "results.json", json.dumps(result, indent=1))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["method", "task", "setting", "bpp", "metric"])
    writer.writeheader()
    writer.writerows(points)
    write_text_atomic(folder / "results.csv", buffer.getvalue())
    rate_accuracy_figure(points, folder / "rate_accuracy.png")
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(task)}</td><td>{_percent(value)}</td></tr>"
        for name, tasks in result["bd_rate_percent"].items() for task, value in tasks.items())
    gaps = "".join(f"<tr><td>{html.escape(task)}</td><td>{_share(value)}</td></tr>"
                   for task, value in result["gap_recovered"].items())
    settings = html.escape(json.dumps(result.get("settings", {})))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>vcm lic evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}td,th{{padding:.2em .8em;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}</style></head><body>
<h1>One bitstream, many machines: learned codec with task adapters</h1>
<p>Held-out frames; metrics against the originals. Settings: <code>{settings}</code></p>
<img src="rate_accuracy.png" alt="rate against task metric" style="max-width:100%">
<h2>BD-rate (negative: fewer bits for the same metric)</h2>
<table><tr><th>comparison</th><th>task</th><th>BD-rate</th></tr>{rows}</table>
<h2>Share of the fine-tuning gain the adapters reach at equal bits</h2>
<table><tr><th>task</th><th>recovered</th></tr>{gaps}</table>
<p>Every point: <a href="results.csv">results.csv</a>, <a href="results.json">results.json</a>.</p>
</body></html>
"""
    write_text_atomic(folder / "index.html", page)
    return folder / "index.html"


def _percent(value: object) -> str:
    return "n/a (curves do not overlap)" if value is None else f"{value:+.1f} %"


def _share(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.0f} %"
