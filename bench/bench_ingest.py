"""Concurrent uploads: N simulated cameras against one real `vcm serve` for a bounded time.

Each camera is a thread sending real machine-stream segments (32 frames of the sample,
768x576, coded by the fast planner once up front) with their detections, one after the
other as an agent does (machine PUT, then detections PUT), each camera with its own
bearer token. Reports segments/s, p50/p99 latency of a whole segment upload and the
server's resident memory (sampled every second: the median of the first and of the last
tenth of the run, which must stay within 10 %), and then checks that every acknowledged
segment is stored exactly once (catalog rows per camera are 0..n-1, no gaps, no
duplicates) and that `vcm storage check` finds no problem. Loopback only; the server and
the cameras share this machine's cores.

    python bench/bench_ingest.py [--cameras 16] [--seconds 120] [--catalog URL --storage URL]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_service import Service, create_token
from vcm.api.client import Client
from vcm.api.contract import DetectionRecord
from vcm.cloud.maintenance import check
from vcm.cloud.system import open_system
from vcm.media import fetch_sample, read_video
from vcm.models import load_detector
from vcm.pipeline import Verification, run_method
from vcm.planners import PlanSettings

SEGMENT_FRAMES = 32


def machine_segments(count: int, folder: Path) -> tuple[list[tuple[bytes, list[dict]]], float]:
    """`count` real machine segments (SEGMENT_FRAMES frames each) of the sample with their
    detections, and their frame rate."""
    video = read_video(fetch_sample(), max_frames=SEGMENT_FRAMES * count)
    detector = load_detector("yolov3-tiny")  # the detector its recorded figures were measured with
    made = []
    for index in range(count):
        path = folder / f"{index}.mp4"
        records: list = []
        first = index * SEGMENT_FRAMES
        run_method("fast", video.frames[first : first + SEGMENT_FRAMES], video.fps, path, detector,
                   PlanSettings(), verify=Verification(enabled=False), on_frame=records.append)
        found = [DetectionRecord.of(r.index, r.index / video.fps, d).to_dict()
                 for r in records for d in (r.detections or [])]
        made.append((path.read_bytes(), found))
    return made, video.fps


def resident_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--catalog")
    parser.add_argument("--storage")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vcm-bench-ingest-") as folder:
        root = Path(folder)
        segments, fps = machine_segments(4, root)
        data = root / "data"
        flags = [*(["--catalog", args.catalog] if args.catalog else []),
                 *(["--storage", args.storage] if args.storage else [])]
        tokens = [create_token(data, f"cam{i}", "camera", *flags) for i in range(args.cameras)]
        latencies: list[float] = []
        acknowledged = [0] * args.cameras
        errors: list[str] = []
        with Service(data) as service:
            stop = time.monotonic() + args.seconds

            def camera(index: int) -> None:
                with Client(service.url, tokens[index]) as client:
                    seq = 0
                    while time.monotonic() < stop:
                        body, found = segments[seq % len(segments)]
                        started = time.perf_counter()
                        try:
                            client.put_layer(f"cam{index}", seq, "machine", body, start=1e9 + seq * 3.2,
                                            frames=SEGMENT_FRAMES, fps=fps)
                            client.put_detections(f"cam{index}", seq, found)
                        except Exception as error:  # reported, and the run counts as failed
                            errors.append(f"cam{index} segment {seq}: {error}")
                            return
                        latencies.append(time.perf_counter() - started)
                        acknowledged[index] += 1
                        seq += 1

            started = time.perf_counter()
            threads = [threading.Thread(target=camera, args=(i,)) for i in range(args.cameras)]
            for thread in threads:
                thread.start()
            assert service.process is not None
            rss = []
            while any(thread.is_alive() for thread in threads):
                rss.append(resident_mib(service.process.pid))
                time.sleep(1.0)
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        system = open_system(data)
        exactly_once = all(
            [s.seq for s in system.catalog.segments(f"cam{i}")] == list(range(acknowledged[i]))
            for i in range(args.cameras))
        problems = check(system)
        ordered = sorted(latencies)
        result = {
            "cameras": args.cameras, "seconds": round(elapsed, 1), "segments": len(latencies),
            "segment_bytes_mean": round(statistics.mean(len(b) for b, _ in segments)),
            "segments_per_second": round(len(latencies) / elapsed, 2),
            "frames_per_second_ingested": round(32 * len(latencies) / elapsed, 1),
            "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
            "server_rss_first_tenth_mib": round(statistics.median(rss[: max(len(rss) // 10, 1)]), 1),
            "server_rss_last_tenth_mib": round(statistics.median(rss[-max(len(rss) // 10, 1):]), 1),
            "exactly_once": exactly_once, "storage_check_ok": problems.ok, "errors": errors,
            "catalog": args.catalog or "sqlite (default)",
            "storage": args.storage or "local folders (default)",
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        }
    print(json.dumps(result, indent=2))
    print("\n| measure | value |\n|---|---|")
    print("\n".join(f"| {key} | {value} |" for key, value in result.items() if key != "machine"))
    growth = result["server_rss_last_tenth_mib"] / result["server_rss_first_tenth_mib"] - 1
    print(f"| server memory growth | {100 * growth:+.1f} % |")
    if errors or not exactly_once or not problems.ok or growth > 0.10:
        sys.exit(1)


if __name__ == "__main__":
    main()
