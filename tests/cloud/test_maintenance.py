"""The tiering policy and the storage check."""

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.live_service import VCM, segment_bytes
from vcm.cloud.ingest import Upload, store, store_detections
from vcm.cloud.maintenance import check, delete_segments, move_to_cold
from vcm.cloud.system import open_system


def test_old_machine_layers_move_to_the_cold_tier(tmp_path: Path) -> None:
    system = open_system(tmp_path / "data")
    body = segment_bytes(4)
    store(system, Upload("cam", 0, "machine", body, hashlib.sha256(body).hexdigest(), 10.0, 4, 10.0))
    (stored,) = system.catalog.objects()
    assert move_to_cold(system, older_than_days=1.0, now=stored.stored + 3600) == []  # an hour old: stays
    (moved,) = move_to_cold(system, older_than_days=1.0, now=stored.stored + 2 * 86400)
    (after,) = system.catalog.objects()
    assert (moved.key, after.tier) == (stored.key, "cold")
    assert not system.tiers["hot"].exists(stored.key) and system.tiers["cold"].get(stored.key) == body
    assert check(system).ok
    assert system.catalog.cameras()[0]["cold_bytes"] == len(body)


def test_deleting_a_segment_removes_rows_objects_and_renditions(tmp_path: Path) -> None:
    system = open_system(tmp_path / "data")
    for seq in (0, 1):
        body = segment_bytes(4, seed=seq)
        store(system, Upload("cam", seq, "machine", body, hashlib.sha256(body).hexdigest(), 10.0 + seq, 4,
                              10.0))
        store_detections(system, "cam", seq, [{"frame": 0, "time": 10.0 + seq, "class": "person",
                                               "score": 0.9, "box": [0, 0, 4, 4]}])
    cached = system.data / "renditions" / "cam" / "0000000000.abc.mp4"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    (removed,) = delete_segments(system, "cam", 0)
    assert removed.seq == 0 and not system.tiers["hot"].exists(removed.key) and not cached.exists()
    assert [item.seq for item in system.catalog.objects()] == [1]
    assert system.catalog.segment("cam", 0) is None and system.catalog.detections("cam", 0) == []
    assert [hit["seq"] for hit in system.catalog.search("person")] == [1]
    assert check(system).ok
    assert len(delete_segments(system, "cam")) == 1 and system.catalog.cameras() == []
    assert delete_segments(system, "cam") == []


@pytest.mark.slow
def test_storage_check_exits_1_on_an_orphan_or_a_corrupt_object(tmp_path: Path) -> None:
    data = tmp_path / "data"
    system = open_system(data)
    body = segment_bytes(4)
    store(system, Upload("cam", 0, "machine", body, hashlib.sha256(body).hexdigest(), 10.0, 4, 10.0))
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
