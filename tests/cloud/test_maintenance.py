"""The tiering policy and the storage check."""

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.live_service import VCM, segment_bytes
from vcm.cloud.ingest import Upload, store
from vcm.cloud.maintenance import check, move_to_cold
from vcm.cloud.system import open_system


def test_old_machine_layers_move_to_the_cold_tier(tmp_path: Path) -> None:
    system = open_system(tmp_path / "data")
    body = segment_bytes(4)
    store(system, Upload("cam", 0, "machine", body, hashlib.sha256(body).hexdigest(), 10.0))
    (stored,) = system.catalog.objects()
    assert move_to_cold(system, older_than_days=1.0, now=stored.stored + 3600) == []  # an hour old: stays
    (moved,) = move_to_cold(system, older_than_days=1.0, now=stored.stored + 2 * 86400)
    (after,) = system.catalog.objects()
    assert (moved.key, after.tier) == (stored.key, "cold")
    assert not system.tiers["hot"].exists(stored.key) and system.tiers["cold"].get(stored.key) == body
    assert check(system).ok
    assert system.catalog.cameras()[0]["cold_bytes"] == len(body)


@pytest.mark.slow
def test_storage_check_exits_1_on_an_orphan_or_a_corrupt_object(tmp_path: Path) -> None:
    data = tmp_path / "data"
    system = open_system(data)
    body = segment_bytes(4)
    store(system, Upload("cam", 0, "machine", body, hashlib.sha256(body).hexdigest(), 10.0))
    (stored,) = system.catalog.objects()

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([*VCM, "storage", "check", "--data", str(data)], capture_output=True, text=True,
                              timeout=120)

    assert run().returncode == 0
    (data / "hot" / "cam" / "stray.mp4").write_bytes(b"x")
    orphan = run()
    assert orphan.returncode == 1 and "orphans: hot:cam/stray.mp4" in orphan.stdout
    (data / "hot" / "cam" / "stray.mp4").unlink()
    (data / "hot" / stored.key).write_bytes(bytes([body[0] ^ 0xFF]) + body[1:])
    corrupt = run()
    assert corrupt.returncode == 1 and f"corrupt: hot:{stored.key}" in corrupt.stdout
    (data / "hot" / stored.key).unlink()
    missing = run()
    assert missing.returncode == 1 and f"missing: hot:{stored.key}" in missing.stdout
