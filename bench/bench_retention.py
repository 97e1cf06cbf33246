"""Retention under pressure: a hot tier filled to twice its budget with real segments (a
person in one of every four), `vcm storage prune` killed with SIGKILL part-way, then run
again. Goal: usage within 1 % of the budget, only what expires first deleted (oldest first,
the segments with a person kept over empty ones), `vcm storage check` clean.

    python bench/bench_retention.py [--segments 400] [--kill-after 0.5]
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_service import VCM, segment_bytes
from vcm.cloud.ingest import Upload, store, store_detections
from vcm.cloud.retention import RetentionPolicy, plan
from vcm.cloud.system import open_system

PERSON_EVERY = 4


def fill(data: Path, count: int, now: float) -> None:
    """`count` segments of camera cam, one an hour back from `now` (seq 0 the oldest)."""
    bodies = [segment_bytes(8, seed=seed) for seed in range(8)]
    system = open_system(data)
    for seq in range(count):
        body, start = bodies[seq % len(bodies)], now - (count - seq) * 3600.0
        store(system, Upload("cam", seq, "machine", body, hashlib.sha256(body).hexdigest(), start, 8, 10.0))
        score = 0.9 if seq % PERSON_EVERY == 0 else 0.3
        store_detections(system, "cam", seq, [{"frame": 0, "time": start, "class": "person", "score": score,
                                               "box": [1, 2, 30, 40]}])
        if (seq + 1) % 50 == 0:
            print(f"filled {seq + 1} of {count} segments", file=sys.stderr, flush=True)
    system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=400)
    parser.add_argument("--kill-after", type=float, default=0.5, help="seconds before the SIGKILL (0.5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vcm-bench-retention-") as folder:
        data, policy_path = Path(folder) / "data", Path(folder) / "retention.toml"
        now = time.time()
        fill(data, args.segments, now)
        system = open_system(data)
        total = sum(item.bytes for item in system.catalog.objects())
        budget = total // 2
        policy_path.write_text(f"keep_days = 30\n[classes]\nperson = 90\n[budget]\nhot = {budget}\n")
        expected = [(d.camera, d.seq) for d in plan(system, RetentionPolicy.load(policy_path), now)]
        system.close()
        command = [*VCM, "storage", "prune", "--data", str(data), "--retention", str(policy_path)]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        time.sleep(args.kill_after)
        system = open_system(data)
        while len(system.catalog.segment_summaries(0.0)) == args.segments and first.poll() is None:
            time.sleep(0.01)  # wait for the first deletion, then kill in the middle of the run
        time.sleep(0.05)
        killed = first.poll() is None
        if killed:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        left_by_kill = len(system.catalog.segment_summaries(0.0))
        again = subprocess.run(command, capture_output=True, text=True, timeout=600)
        checked = subprocess.run([*VCM, "storage", "check", "--data", str(data)], capture_output=True,
                                 text=True, timeout=600)
        kept = system.catalog.segment_summaries(0.0)
        used = sum(item.bytes for item in system.catalog.objects())
        on_disk = sum(p.stat().st_size for p in (data / "hot").rglob("*") if p.is_file())
        deleted = sorted(set(range(args.segments)) - {segment["seq"] for segment in kept})
        persons_deleted = sum(seq % PERSON_EVERY == 0 for seq in deleted)
        system.close()
    summary = {"segments": args.segments, "budget_bytes": budget, "filled_bytes": total, "killed": killed,
               "segments_left_by_the_kill": left_by_kill, "used_bytes": used, "hot_files_bytes": on_disk,
               "usage_of_budget": round(used / budget, 4), "deleted": len(deleted),
               "deleted_as_planned": deleted == sorted(seq for _, seq in expected),
               "persons_deleted": persons_deleted, "rerun_exit": again.returncode,
               "check_exit": checked.returncode, "check": checked.stdout.strip().splitlines()[-1:]}
    print(json.dumps(summary, indent=2))
    print("\n| measure | value |\n|---|---|")
    print(f"| hot tier filled to | {total / budget:.2f}x its budget ({args.segments} segments) |")
    print(f"| prune killed with SIGKILL part-way | {'yes' if killed else 'no (it finished first)'}, "
          f"{args.segments - left_by_kill} segments deleted by then |")
    print(f"| usage after the rerun | {100 * used / budget:.2f} % of the budget |")
    print(f"| deleted | {len(deleted)} segments, the oldest first as planned: "
          f"{'yes' if summary['deleted_as_planned'] else 'NO'}; {persons_deleted} with a person |")
    print(f"| vcm storage check | {'clean' if checked.returncode == 0 else 'PROBLEMS'} |")
    ok = (0.99 * budget <= used <= budget and summary["deleted_as_planned"] and again.returncode == 0
          and checked.returncode == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
