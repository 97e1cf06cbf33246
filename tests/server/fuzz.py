"""Driving every endpoint of a live `vcm serve` with requests generated from its OpenAPI
description (Schemathesis strategies, run by Hypothesis): valid ones and malformed ones.

Used by tests/server/test_fuzz.py (a few thousand requests in `make test`) and by
bench/bench_fuzz.py (the >= 10,000 of the goal). Records every status, every 5xx, and every
refused (4xx) PUT or DELETE after which the stored objects or catalog rows changed."""

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from vcm.cloud.system import open_system
from vcm.server.openapi import OPENAPI

PINNED = {"camera": "cam1", "seq": "0"}  # an existing segment, so reads and writes also meet real data


@dataclass
class FuzzResult:
    """What the generated requests got: status counts, server errors, refusals that stored."""

    requests: int = 0
    unsendable: int = 0  # generated requests the HTTP client itself refuses to send
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    stored_on_refusal: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "unsendable": self.unsendable,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "server_errors": self.server_errors[:20], "stored_on_refusal": self.stored_on_refusal[:20]}


def fuzz(url: str, data: Path, camera_token: str, reader_token: str, examples: int, *,
         seed: int = 0, log: Callable[[str], None] | None = None) -> FuzzResult:
    """Send about `examples` generated requests per operation, mode (valid, malformed) and path
    (free, pinned to PINNED) to the service at `url` whose data folder is `data`."""
    result = FuzzResult()
    system = open_system(data)
    session = requests.Session()

    def stored() -> tuple[object, ...]:
        files = sorted(str(p) for tier in ("hot", "cold") for p in (data / tier).rglob("*") if p.is_file())
        rows = [(o.camera, o.seq, o.layer, o.sha256) for o in system.catalog.objects()]
        found = system.catalog.detections(PINNED["camera"], int(PINNED["seq"]))
        return tuple(files), tuple(rows), tuple(found)

    def send(case: schemathesis.Case) -> None:
        token = camera_token if case.method.upper() == "PUT" else reader_token
        writes = case.method.upper() in ("PUT", "DELETE")
        before = stored() if writes else None
        try:
            response = case.call(base_url=url, session=session, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError, ValueError):
            result.unsendable += 1
            return
        result.requests += 1
        result.statuses[response.status_code] += 1
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            result.server_errors.append(f"{where}: {response.text[:200]}")
        if writes and 400 <= response.status_code < 500 and stored() != before:
            result.stored_on_refusal.append(where)

    try:
        for index, operation in enumerate(op.ok() for op in schemathesis.openapi.from_dict(OPENAPI)
                                          .get_all_operations()):
            names = {p.name for p in operation.path_parameters}
            pinned = {k: v for k, v in PINNED.items() if k in names}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for path_parameters in ([None, pinned] if pinned else [None]):
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
                    run = settings(max_examples=examples, deadline=None, database=None,
                                   phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                                   )(given(strategy)(send))
                    try:
                        seeded(seed * 1000 + index)(run)()
                    except Unsatisfiable:  # nothing to make malformed (an operation without inputs)
                        continue
                    if log is not None:
                        log(f"{operation.label} ({mode.value}{', pinned' if path_parameters else ''}): "
                            f"{result.requests} requests so far, {len(result.server_errors)} 5xx")
    finally:
        session.close()
        system.close()
    return result
