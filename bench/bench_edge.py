"""Can the camera agent keep up with a live camera? `vcm edge` on the sample clip
(768x576, 10 fps) against a real `vcm serve` on loopback.

Runs the agent as a user would (a separate `vcm edge` process) and reads its summary
(--json): frames coded per second of the agent's run (reading, detecting, planning,
coding the machine stream and the restoration layer, spooling and uploading; model
loading excluded), and the real-time factor against the clip's 10 fps. The server runs
on the same 2 cores, so the figure is a lower bound for a camera box of its own.

    python bench/bench_edge.py [--frames 320] [--repeats 3] [--no-restoration]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_service import VCM, Service, create_token
from vcm.media import fetch_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-restoration", action="store_true")
    args = parser.parse_args()
    sample = fetch_sample()
    runs = []
    with tempfile.TemporaryDirectory(prefix="vcm-bench-edge-") as folder:
        data = Path(folder) / "data"
        with Service(data) as service:
            for repeat in range(args.repeats):
                camera = f"cam{repeat}"
                token = create_token(data, camera)
                command = [*VCM, "edge", str(sample), "--server", service.url, "--camera", camera,
                           "--token", token, "--spool", str(Path(folder) / "spool"),
                           "--frames", str(args.frames), "--json",
                           *(["--no-restoration"] if args.no_restoration else [])]
                result = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                                        env={**os.environ, "COLUMNS": "200"})
                if result.returncode != 0:
                    sys.exit(f"vcm edge failed: {result.stderr}")
                summary = json.loads(result.stdout[result.stdout.index("{"):])
                runs.append(summary)
                print(f"run {repeat + 1}: {summary['fps']} frames/s, {summary['segments_coded']} segments, "
                      f"machine {summary['machine_bytes']} B, restoration {summary['restoration_bytes']} B",
                      file=sys.stderr)
    fps = [run["fps"] for run in runs]
    seconds_of_video = args.frames / 10.0
    result = {
        "frames": args.frames, "restoration": not args.no_restoration, "repeats": args.repeats,
        "fps_median": statistics.median(fps), "fps_runs": fps,
        "realtime_factor_median": round(statistics.median(fps) / 10.0, 2),
        "machine_kbps": round(8 * runs[0]["machine_bytes"] / seconds_of_video / 1000, 1),
        "restoration_kbps": round(8 * runs[0]["restoration_bytes"] / seconds_of_video / 1000, 1),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    print("\n| measure | value |\n|---|---|")
    print("\n".join(f"| {key} | {value} |" for key, value in result.items() if key != "machine"))


if __name__ == "__main__":
    main()
