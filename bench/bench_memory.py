"""Peak memory and speed of `vcm encode` as the input grows: the sample looped 1x, 4x, 16x.

Runs the `vcm` command as users do (a separate process per run) and reads each run's peak
resident memory from the kernel (wait4) and its frames/s from its own report line
("... frames/s end to end", which excludes start-up). Per length: a uniform QP 30 encode
(the reference), fast without verification and fast with the default verification
(every 2nd frame decoded and re-detected); fast checking every frame and `vcm detect`
up to 4x (they are slow), `vcm info` at every length. peak spread: (max - min) / min of
the peaks over the lengths run. Prints a Markdown table; speeds also as ratios to the
uniform encode of the same length, measured in the same run.

    python bench/bench_memory.py [--lengths 1,4,16] [--eval-segments 2,8]

It also measures `vcm eval --methods uniform,fast` on 2 and 8 segments (a table of its own).
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vcm.media import fetch_sample

RUNS = {  # label: (command, the longest input it runs on, in loops of the sample)
    "uniform, no verification": (["encode", "--method", "uniform", "--no-verify"], 16),
    "fast, no verification": (["encode", "--method", "fast", "--no-verify"], 16),
    "fast, verify every 2nd frame (default)": (["encode", "--method", "fast"], 16),
    "fast, verify every frame": (["encode", "--method", "fast", "--verify-every", "1"], 4),
    "detect": (["detect"], 4),
    "info": (["info"], 16),
}
RATE = re.compile(r"([0-9.]+)\s+frames/s end to end")


def looped(sample: Path, times: int, folder: Path) -> Path:
    """The sample repeated `times` times, stream-copied by Debian's ffmpeg (no re-coding)."""
    if times == 1:
        return sample
    path = folder / f"vtest_x{times}.avi"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(times - 1), "-i", str(sample),
                    "-c", "copy", str(path)], check=True)
    return path


def run(argv: list[str]) -> tuple[float, float | None, float]:
    """(peak resident MB, frames/s it reported or None, wall seconds) of one `vcm` run."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "vcm.cli", *argv], stdout=log,
                                   stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"vcm {' '.join(argv)} failed:\n{output}")
    match = RATE.search(output.replace("\n", " "))
    return usage.ru_maxrss / 1024, float(match.group(1)) if match else None, seconds


def evaluation(sample: Path, counts: list[int]) -> None:
    """Peak memory of `vcm eval` as the number of segments grows (a table of its own)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="vcm-bench-eval-") as name:
        for count in counts:
            peak, _, seconds = run(["eval", str(sample), "--methods", "uniform,fast", "--max-segments",
                                    str(count), "--out", str(Path(name) / f"eval{count}")])
            rows.append((count, peak, seconds))
            print(f"eval {count} segments: {peak:.0f} MB", file=sys.stderr, flush=True)
    print("| `vcm eval --methods uniform,fast` | " + " | ".join(f"{c} segments" for c, _, _ in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    print("| peak MB | " + " | ".join(f"{p:.0f}" for _, p, _ in rows) + " |")
    print("| seconds | " + " | ".join(f"{s:.0f}" for _, _, s in rows) + " |\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="1,4,16", help="how many times the sample is looped")
    parser.add_argument("--only", help="run only the runs whose label contains this text")
    parser.add_argument("--eval-segments", default="2,8",
                        help="also `vcm eval --methods uniform,fast` on this many 33-frame segments "
                        "(empty: skip)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per case; the table shows medians, stderr every run (run-to-run noise)")
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    sample = fetch_sample()
    if args.eval_segments:
        evaluation(sample, [int(n) for n in args.eval_segments.split(",")])
    results: dict[tuple[str, int], tuple[float, float | None, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vcm-bench-") as name:
        folder = Path(name)
        for times in lengths:
            video = looped(sample, times, folder)
            for label, (command, longest) in RUNS.items():
                if times > longest or (args.only and args.only not in label):
                    continue
                argv = [command[0], str(video), *command[1:]]
                if command[0] == "encode":
                    argv += ["-o", str(folder / "out.mp4")]
                if command[0] == "info" and (folder / "out.mp4").exists():
                    argv = ["info", str(folder / "out.mp4")]  # the last encode's output
                repeats = []
                for _ in range(args.repeats):
                    peak, rate, seconds = run(argv)
                    repeats.append((peak, rate if rate is not None else 795 * times / seconds, seconds))
                    print(f"{label} x{times}: {peak:.0f} MB, {repeats[-1][1]:.1f} frames/s", file=sys.stderr,
                          flush=True)
                results[(label, times)] = tuple(statistics.median(r[i] for r in repeats) for i in range(3))
            if times != 1:
                (folder / f"vtest_x{times}.avi").unlink()
    print(f"# vcm memory and speed vs input length: vtest.avi (768x576, 795 frames) looped "
          f"{', '.join(f'{n}x' for n in lengths)}, median of {args.repeats} run(s); {os.cpu_count()} cores, "
          f"{platform.machine()}, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print("frames/s: as reported by the run, excluding start-up (detect, info: whole run); "
          "ratio: to the uniform encode of the same length in this run")
    print("| run | " + " | ".join(f"peak MB {n}x" for n in lengths) + " | peak spread | "
          + " | ".join(f"frames/s {n}x" for n in lengths) + " | " + " | ".join(f"ratio {n}x" for n in lengths)
          + " |")
    print("|---" * (1 + 3 * len(lengths) + 1) + "|")
    for label in RUNS:
        ran = [n for n in lengths if (label, n) in results]
        if not ran:
            continue
        peaks = [results[(label, n)][0] for n in ran]
        spread = (max(peaks) - min(peaks)) / min(peaks)

        def cells(values: dict[int, str]) -> str:
            return " | ".join(values.get(n, "-") for n in lengths)

        def ratio(n: int, label: str = label) -> str:
            reference = results.get(("uniform, no verification", n))
            return f"{results[(label, n)][1] / reference[1]:.2f}" if reference else "-"

        print(f"| {label} | " + cells({n: f"{results[(label, n)][0]:.0f}" for n in ran})
              + f" | {spread:.1%} | " + cells({n: f"{results[(label, n)][1]:.1f}" for n in ran}) + " | "
              + cells({n: ratio(n) for n in ran}) + " |")


if __name__ == "__main__":
    main()
