"""Regenerate the result tables of README.md and docs/benchmarks.md from the current commit.

Each part is a TOML file in bench/results/ (name = file stem): a description, its duration on
these machines (`minutes`), whether it is `long` (left out unless named or --long is given)
and `commands`, run in order from the repository root ({python} and {vcm} are the virtualenv's
interpreter and command, {sample} the sample clip, {work} a folder for the part's files; a word
{clips:SPLIT} becomes the paths of that split's clips, vcm.media.clips.CLIP_SPLITS, and
{clip:SPLIT/NAME} the path of one clip, checked to be in that split). Every
Markdown table the commands print becomes a table of the part. Each run writes
results/PART.json (tables, commands, duration, stamped with commit, date and machine), then
results/results.json and results/results.csv (every part, one row per table cell) and
re-renders every block

    <!-- results PART N -->
    ...
    <!-- /results -->

in the documents with table N (from 1) of PART and its stamp (or a line saying PART was
not run).

Usage: python bench/results.py [PART ...] [--long] [--list] [--render-only]
(`make results`, `make results PARTS="privacy preedit"`).
"""

import argparse
import csv
import datetime
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS_DIR = ROOT / "bench" / "results"
RESULTS_DIR = ROOT / "results"
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")
CODE = ("src", "bench", "pyproject.toml")  # what a result depends on: a change here marks it modified
BLOCK = re.compile(r"<!-- results (?P<part>[\w-]+) (?P<index>\d+) -->\n.*?<!-- /results -->", re.DOTALL)
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")


@dataclass(frozen=True)
class Part:
    """One named group of commands whose printed tables are results."""

    name: str
    description: str
    minutes: float
    long: bool
    commands: tuple[tuple[str, ...], ...]


def load_parts(folder: Path = PARTS_DIR) -> dict[str, Part]:
    """Every part defined in `folder`, by name."""
    parts = {}
    for path in sorted(folder.glob("*.toml")):
        spec = tomllib.loads(path.read_text())
        parts[path.stem] = Part(path.stem, spec["description"], float(spec["minutes"]),
                                bool(spec.get("long")), tuple(tuple(command) for command in spec["commands"]))
    return parts


def markdown_tables(text: str) -> list[dict[str, list]]:
    """The Markdown tables in `text` -> [{"columns": [...], "rows": [[...], ...]}] (cells as text)."""
    tables: list[dict[str, list]] = []
    lines = text.splitlines()
    index = 0
    while index + 1 < len(lines):
        if lines[index].startswith("|") and SEPARATOR.match(lines[index + 1].strip()):
            columns = _cells(lines[index])
            rows = []
            index += 2
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            tables.append({"columns": columns, "rows": rows})
        else:
            index += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def stamp() -> dict[str, object]:
    """The commit (and whether the code differs from it), date and machine of a run."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
               platform.processor())
    return {"commit": git("rev-parse", "HEAD"),
            "modified": bool(git("status", "--porcelain", "--", *CODE)),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": {"cores": os.cpu_count(), "cpu": cpu, "arch": platform.machine(),
                        "python": platform.python_version()}}


def expand(command: tuple[str, ...], part: Part) -> list[str]:
    """A command with its placeholders filled in."""
    bin_dir = Path(sys.executable).parent
    from vcm.media.clips import CLIP_SPLITS, clip_path
    from vcm.media.samples import fetch_sample

    values = {"python": sys.executable, "vcm": str(bin_dir / "vcm"),
              "work": str(ROOT / "out" / "results" / part.name)}
    if any("{sample}" in word for word in command):
        values["sample"] = str(fetch_sample())
    argv: list[str] = []
    for word in command:
        clips = re.fullmatch(r"\{clips:(\w+)\}", word)
        clip = re.fullmatch(r"\{clip:(\w+)/([\w-]+)\}", word)
        if clips:
            argv += [str(clip_path(name)) for name in CLIP_SPLITS[clips.group(1)]]
        elif clip:
            split, name = clip.groups()
            if name not in CLIP_SPLITS.get(split, ()):
                raise SystemExit(f"part {part.name}: clip {name} is not in the {split} split")
            argv.append(str(clip_path(name)))
        else:
            argv.append(word.format(**values))
    return argv


def run_part(part: Part) -> dict[str, object]:
    """Run a part's commands (their output shown as it comes) -> its record."""
    started, printed, commands = time.monotonic(), [], []
    record = {"part": part.name, "description": part.description, **stamp()}
    for command in part.commands:
        argv = expand(command, part)
        commands.append(" ".join(argv).replace(f"{ROOT}/", ""))  # recorded relative to the checkout
        print(f"[{part.name}] $ {' '.join(argv)}", flush=True)
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            printed.append(line)
        if process.wait() != 0:
            raise SystemExit(f"part {part.name}: `{' '.join(argv)}` failed (exit code {process.returncode})")
    tables = markdown_tables("".join(printed))
    if not tables:
        raise SystemExit(f"part {part.name} printed no Markdown table")
    return {**record, "commands": commands, "minutes": round((time.monotonic() - started) / 60, 1),
            "tables": tables}


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text)
    temporary.replace(path)


def collect(folder: Path = RESULTS_DIR) -> dict[str, dict]:
    """Every part's stored record, by part name."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))
            if path.stem != "results"}


def write_combined(records: dict[str, dict], folder: Path = RESULTS_DIR) -> None:
    """results.json (every record) and results.csv (one row per table cell, stamped)."""
    write_atomic(folder / "results.json", json.dumps(records, indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["part", "table", "row", "column", "value", "commit", "date", "cores", "cpu"])
    for name, record in records.items():
        for number, table in enumerate(record["tables"], start=1):
            for row_number, row in enumerate(table["rows"], start=1):
                for column, value in zip(table["columns"], row, strict=False):
                    writer.writerow([name, number, row_number, column, value, record["commit"][:12],
                                     record["date"], record["machine"]["cores"],
                                     record["machine"]["cpu"]])
    write_atomic(folder / "results.csv", buffer.getvalue())


def render_table(record: dict, index: int) -> str:
    """Table `index` (from 1) of a record as Markdown, with a line saying where it came from."""
    table = record["tables"][index - 1]
    lines = ["| " + " | ".join(table["columns"]) + " |", "|" + "---|" * len(table["columns"])]
    lines += ["| " + " | ".join(row) + " |" for row in table["rows"]]
    machine = record["machine"]
    modified = " + local changes" if record["modified"] else ""
    lines.append(f"\n<sub>`make results PARTS={record['part']}` at {record['commit'][:7]}{modified}, "
                 f"{record['date']}, {machine['cores']} cores {machine['arch']}, "
                 f"{record['minutes']} min</sub>")
    return "\n".join(lines)


def render(text: str, records: dict[str, dict]) -> str:
    """`text` with every results block filled from `records` (a part without results says so)."""
    def fill(match: re.Match) -> str:
        part, index = match["part"], int(match["index"])
        if part not in records:
            return (f"<!-- results {part} {index} -->\n"
                    f"*Not run at this commit: `make results PARTS={part}`.*\n<!-- /results -->")
        if index > len(records[part]["tables"]):
            raise SystemExit(f"part {part!r} has {len(records[part]['tables'])} tables, "
                             f"a document shows #{index}")
        return f"<!-- results {part} {index} -->\n{render_table(records[part], index)}\n<!-- /results -->"

    return BLOCK.sub(fill, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help="parts to run (default: every part that is not long)")
    parser.add_argument("--long", action="store_true", help="run the long parts too")
    parser.add_argument("--list", action="store_true", help="list the parts and their durations")
    parser.add_argument("--render-only", action="store_true", help="only re-render the documents")
    args = parser.parse_args()
    parts = load_parts()
    if args.list:
        for part in parts.values():
            flag = " (long)" if part.long else ""
            print(f"{part.name:20} {part.minutes:6.0f} min{flag:8} {part.description}")
        return
    unknown = [name for name in args.parts if name not in parts]
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(unknown)}; available: {', '.join(parts)}")
    chosen = [parts[name] for name in args.parts] or [p for p in parts.values() if args.long or not p.long]
    if not args.render_only:
        print(f"running {len(chosen)} parts, about {sum(p.minutes for p in chosen):.0f} min: "
              f"{', '.join(p.name for p in chosen)}", flush=True)
        for part in chosen:
            write_atomic(RESULTS_DIR / f"{part.name}.json", json.dumps(run_part(part), indent=1) + "\n")
    records = collect()
    write_combined(records)
    for document in DOCUMENTS:
        document.write_text(render(document.read_text(), records))
    print(f"results in {RESULTS_DIR.relative_to(ROOT)}/; tables re-rendered in "
          f"{', '.join(str(d.relative_to(ROOT)) for d in DOCUMENTS)}")


if __name__ == "__main__":
    main()
