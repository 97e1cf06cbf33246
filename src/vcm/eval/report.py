"""Write an evaluation's files: results.csv/json, summary.json, plots and index.html."""

import csv
import dataclasses
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vcm.atomic import atomic_output, write_text_atomic
from vcm.errors import InputError
from vcm.eval import plots
from vcm.eval.runner import EvalConfig, Example, ResultRow
from vcm.eval.summary import measures_pose, measures_privacy, summarise
from vcm.tasks.targets import select_targets

EXAMPLE_FRAMES = 2


HEADLINE_METHOD = "fast"  # the default planner, whose savings the report's first line states
HEADLINE_COLUMNS = {"method": "method", "median_size_ratio": "size vs QP 30", "mean_f1": "F1",
                    "segments_erased": "segments erased",
                    "mean_detection_rate": "detection rate", "mean_map50": "mAP@0.5",
                    "mean_psnr_y_db": "PSNR (dB)", "frames_per_second": "frames/s"}


def _table(rows: Sequence[dict[str, object]]) -> str:
    """An HTML table of `rows`, leaving out the columns that hold no value in any row."""
    if not rows:
        return "<p>(none)</p>"
    keys = [key for key in dict.fromkeys(k for row in rows for k in row)
            if any(row.get(key) is not None for row in rows)]
    head = "".join(f"<th>{html.escape(str(key))}</th>" for key in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(key)))}</td>" for key in keys)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def headline(summary: dict[str, object], method: str = HEADLINE_METHOD) -> str:
    """One sentence: what `method` saves at equal F1 against each method it was compared with
    (its BD-rates on F1), or, without rate ladders, its size and F1 against uniform QP 30."""
    against = {str(entry["reference"]): entry["bd_rate_f1_percent"]
               for entry in summary["bd_rate"] if entry["method"] == method}  # type: ignore[index,union-attr]
    measured = {name: value for name, value in against.items() if value is not None}
    if measured:
        parts = [f"{-value:.0f} % fewer bits than {name}" if value <= 0
                 else f"{value:.0f} % more bits than {name}" for name, value in measured.items()]
        return f"At equal F1, {method} needs " + ", ".join(parts) + " (BD-rate over the rate ladders)."
    entries = {str(entry["method"]): entry for entry in summary["methods"]}  # type: ignore[union-attr]
    if method in entries and "uniform" in entries:
        mine, uniform = entries[method], entries["uniform"]
        return (f"{method} codes the segments at a median {mine['median_size_ratio']}x the bytes of uniform "
                f"QP 30, at F1 {_cell(mine['mean_f1'])} against {_cell(uniform['mean_f1'])}; run with "
                "--ladder for BD-rates at equal F1.")
    return f"Run {method} and uniform (with --ladder) to compare them at equal F1."


def headline_table(summary: dict[str, object]) -> list[dict[str, object]]:
    """One row per method (its main point): median size against uniform QP 30, F1 by the
    planning detector and by each judge, detection rate, segments erased, and the BD-rates on
    F1 against each baseline (pooled over segments / median over segments), for README's
    first table; after uniform's row, uniform one ladder step up (summary "raised_uniform"),
    the bits a user saves by raising the QP, with what that erases."""
    methods: list[dict[str, object]] = []
    for entry in summary["methods"]:  # type: ignore[attr-defined]
        methods.append(entry)
        if entry["method"] == "uniform" and summary.get("raised_uniform"):
            methods.append(summary["raised_uniform"])  # type: ignore[arg-type]
    bd: list[dict[str, object]] = summary["bd_rate"]  # type: ignore[assignment]
    judged = [key.removeprefix("mean_f1_") for key in dict.fromkeys(k for m in methods for k in m)
              if key.startswith("mean_f1_")]
    baselines = list(dict.fromkeys(str(entry["reference"]) for entry in bd))

    def both(entry: dict[str, object] | None, metric: str) -> str:
        if entry is None:
            return "-"
        pooled, middle = entry.get(f"bd_rate_{metric}_percent"), entry.get(f"bd_rate_{metric}_median_percent")
        return f"{_cell(pooled)} / {_cell(middle)}"

    table = []
    for method in methods:
        name = str(method["method"])
        is_main = method is not summary.get("raised_uniform")
        against = {str(e["reference"]): e for e in bd if e["method"] == name and is_main}
        row: dict[str, object] = {
            "method": f"{name} ({method['point']})", "size vs QP 30": method["median_size_ratio"],
            "F1": _cell(method.get("mean_f1")),
            **{f"F1 by {judge}": _cell(method.get(f"mean_f1_{judge}")) for judge in judged},
            "detection rate (mean / worst)":
                f"{method['mean_detection_rate']} / {method['min_detection_rate']}",
            "segments erased": f"{_cell(method.get('segments_erased'))} of {method['segments']}"}
        for baseline in baselines:
            row[f"BD F1 vs {baseline} (pooled / median)"] = both(against.get(baseline), "f1")
        for judge in judged:
            label = f"BD F1 by {judge} vs uniform (pooled / median)"
            row[label] = both(against.get("uniform"), f"f1_{judge}")
        table.append(row)
    return table


_PER_NAME = {"f1_by": "f1_", "leak_rate_to": "leak_rate_",  # dict fields -> prefix of their columns
             "faces_measured_by": "faces_measured_by_"}


def flat_record(row: ResultRow) -> dict[str, object]:
    """A row as one flat record: the F1 by each judging detector becomes a column f1_NAME, the
    leak rate to each attacker a column leak_rate_NAME (faces_measured_by_NAME: of how many)."""
    record = dataclasses.asdict(row)
    flat = {key: value for key, value in record.items() if key not in _PER_NAME}
    for key, prefix in _PER_NAME.items():
        flat.update({f"{prefix}{name}": value for name, value in record[key].items()})
    return flat


def write_results(rows: Sequence[ResultRow], out_dir: Path) -> None:
    """results.csv and results.json, one row per segment, method and ladder point (the CSV's
    columns as flat_record)."""
    records = [dataclasses.asdict(row) for row in rows]
    flat = [flat_record(row) for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(key for record in flat for key in record)))
    writer.writeheader()
    writer.writerows(flat)
    write_text_atomic(out_dir / "results.csv", buffer.getvalue())
    write_text_atomic(out_dir / "results.json", json.dumps(records, indent=1))


def read_results(path: Path) -> list[ResultRow]:
    """The rows of a results.json that write_results wrote."""
    try:
        records = json.loads(path.read_text())
        return [ResultRow(**record) for record in records]
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as error:
        raise InputError(f"{path} is not a results.json written by vcm eval ({error})") from None


def write_examples(examples: dict[tuple[str, str], Example], config: EvalConfig,
                   out_dir: Path) -> dict[str, list[str]]:
    """Side-by-side PNGs for a few frames of each video's first segment, per method."""
    folder = out_dir / "frames"
    folder.mkdir(exist_ok=True)
    written: dict[str, list[str]] = {}
    for (video, method), (segment, report) in examples.items():
        planned = segment.poses if config.task == "pose" and segment.poses is not None else segment.detections
        targets = select_targets(planned, config.targets)
        picks = np.linspace(0, len(segment.frames) - 1, EXAMPLE_FRAMES).round().astype(int)
        for index in dict.fromkeys(picks.tolist()):
            name = f"{Path(video).stem}_{method}_f{index:03d}.png"
            frame = report.frames[index]
            plots.example_frame_plot(
                segment.frames[index], report.decoded_rgb[index], np.array(frame.qp_map), targets[index],
                report.decoded_detections[index],
                f"{video} frame {index}: {method}, {frame.picture_type}-frame, {frame.bytes} bytes, "
                f"mean QP {frame.mean_qp:.1f}", folder / name)
            written.setdefault(method, []).append(f"frames/{name}")
    return written


def write_report(rows: Sequence[ResultRow], config: EvalConfig, out_dir: Path,
                 example_images: dict[str, list[str]]) -> dict[str, object]:
    """summary.json, the plots and index.html; returns the summary."""
    results = summarise(rows)
    curve_points = results["curves"]
    summary = {"config": _config_dict(config), **results}
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=1))
    images = {
        "size ratio to uniform QP 30 per segment": plots.size_ratio_plot(rows, out_dir / "size_ratio.png"),
        "detection rate per segment": plots.detection_rate_plot(rows, out_dir / "detection_rate.png"),
        "rate-accuracy": plots.rate_accuracy_plot(curve_points, out_dir / "rate_accuracy.png"),
    }
    if measures_privacy(rows):
        images["privacy-utility: face identity leak rate and person detection rate"] = (
            plots.privacy_utility_plot(curve_points, out_dir / "privacy_utility.png"))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>vcm evaluation</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}",
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}",
        ".lead{font-size:1.25em;margin:0.5em 0 1em}details{margin:1em 0}details>div{overflow-x:auto}",
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}",
        "img{max-width:100%;border:1px solid #ddd;margin:4px 0}",
        "</style></head><body><h1>vcm evaluation</h1>",
        f"<p class='lead'>{html.escape(headline(results))}</p>",
        f"<img src='{images['rate-accuracy'].name}' alt='rate-accuracy'>",
        "<h2>Methods</h2>",
        _table([{label: entry.get(key) for key, label in HEADLINE_COLUMNS.items()}
                for entry in results["methods"]]),
        f"<p>Segments: {len({(r.video, r.segment) for r in rows})} of {config.segment} frames; codec "
        f"{config.codec}, GOP {config.gop}; detector {html.escape(config.detector)}; targets: "
        f"{'every' if config.targets.mode == 'all' else 'the best tracked'} detection with score "
        f"&ge; {config.targets.min_score}, kept with IoU &ge; {config.targets.min_iou}. "
        "F1: the decoded frames' detections against the original's at that score. "
        "Size ratio is against uniform QP 30 on the same segment; detection rate counts targets "
        "(original detections with score &ge; min_score) still found after decoding (same class, "
        "score &ge; min_score, IoU &ge; min_iou); mAP@0.5 uses the original's detections "
        "(score &ge; 0.5) as ground truth." + (
            " Leak rate: share of faces (found by MTCNN on the original, at least "
            "16 px) whose dlib identity embedding on the decoded frame is still within L2 0.6 of "
            "the original's; person detection rate: person targets still detected." if measures_privacy(rows)
            else "") + (
            " Pose accuracy: MoveNet poses of the original (mean keypoint score &ge; "
            f"{config.spec('pose').min_score}) still found after decoding with OKS &ge; "
            f"{config.spec('pose').min_oks}." if measures_pose(rows) else "")
        + f" Planners kept the <b>{html.escape(config.task)}</b> task's outputs.</p>",
        "<h2>BD-rate (%) against the reference method (negative = fewer bits at equal accuracy or "
        "fidelity)</h2>",
        _table([{key.removeprefix("bd_rate_").removesuffix("_percent"): value for key, value in entry.items()}
                for entry in results["bd_rate"]]),
        "<details><summary>Every measure per method</summary><div>", _table(results["methods"]),
        "</div></details>",
    ]
    for title, path in images.items():
        if title == "rate-accuracy":
            continue
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{path.name}' alt='{html.escape(title)}'>")
    parts.append("<h2>Example frames</h2>")
    for method, paths in example_images.items():
        parts.append(f"<h3>{html.escape(method)}</h3>")
        parts.extend(f"<img src='{path}' alt='{html.escape(method)}'>" for path in paths)
    parts.append("<details><summary>All results (one row per segment, method and point)</summary><div>")
    parts.append(_table([{k: v for k, v in flat_record(r).items() if k != "stream"} for r in rows]))
    parts.append("</div></details>")
    parts.append("</body></html>")
    with atomic_output(out_dir / "index.html") as temporary:
        temporary.write_text("\n".join(parts))
    return summary


def _config_dict(config: EvalConfig) -> dict[str, object]:
    payload = dataclasses.asdict(config)
    payload["methods"] = list(config.methods)
    return payload
