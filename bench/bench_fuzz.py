"""API fuzzing at scale: requests generated from the OpenAPI description (valid and
malformed, every endpoint) against one real `vcm serve` on loopback, with a camera and a
reader token. Goal: zero 5xx and nothing stored on a refusal over >= 10,000 requests, and
every listing still answering afterwards. Prints a JSON summary and a Markdown table; exits 1
on any failure.

    python bench/bench_fuzz.py [--examples 320] [--seed 0]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tempfile

import httpx

from tests.live_service import Service, create_token, segment_bytes
from tests.server.fuzz import PINNED, fuzz
from vcm.api.client import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=320, help="per operation, mode and path (320)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vcm-bench-fuzz-") as folder:
        data = Path(folder) / "data"
        camera, reader = create_token(data, PINNED["camera"]), create_token(data, "ops", "reader")
        with Service(data) as service:
            with Client(service.url, camera) as client:  # a real segment for reads to find
                client.put_layer(PINNED["camera"], int(PINNED["seq"]), "machine", segment_bytes(4),
                                 start=1000.0, frames=4, fps=10)
            started = time.perf_counter()
            result = fuzz(service.url, data, camera, reader, args.examples, seed=args.seed,
                          log=lambda line: print(f"fuzz: {line}", file=sys.stderr, flush=True))
            elapsed = time.perf_counter() - started
            listings = {path: httpx.get(service.url + path, headers={"Authorization": f"Bearer {reader}"},
                                        timeout=60).status_code
                        for path in ("/api/cameras", f"/api/cameras/{PINNED['camera']}/segments",
                                     "/api/search?class=person")}
        tracebacks = service.log.read_text().count("Traceback")
    summary = {**result.to_dict(), "seconds": round(elapsed, 1), "listings_after": listings,
               "tracebacks_in_server_log": tracebacks}
    print(json.dumps(summary, indent=2))
    refused = sum(count for status, count in result.statuses.items() if 400 <= status < 500)
    print("\n| measure | value |\n|---|---|")
    print(f"| generated requests | {result.requests} |")
    print(f"| answered 2xx / 4xx | {result.requests - refused - len(result.server_errors)} / {refused} |")
    print(f"| answered 5xx | {len(result.server_errors)} |")
    print(f"| refusals after which something was stored | {len(result.stored_on_refusal)} |")
    answering = sum(status == 200 for status in listings.values())
    print(f"| listings answering afterwards | {answering} of {len(listings)} |")
    print(f"| tracebacks in the server log | {tracebacks} |")
    print(f"| requests per second | {result.requests / elapsed:.0f} |")
    failed = (result.server_errors or result.stored_on_refusal or tracebacks or result.requests < 10_000
              or any(status != 200 for status in listings.values()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
