"""Retention: age by camera and by detected class, budgets per tier, deletions a crash cannot
leave half done."""

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.live_service import VCM, segment_bytes
from vcm.cloud.ingest import Upload, store, store_detections
from vcm.cloud.maintenance import DAY, check
from vcm.cloud.retention import RetentionPolicy, parse_bytes, plan, prune
from vcm.cloud.system import System, open_system
from vcm.errors import InputError

NOW = 100 * DAY


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    return [segment_bytes(4, seed=seed) for seed in range(3)]


def add(system: System, camera: str, seq: int, age_days: float, body: bytes, person: bool = False) -> None:
    start = NOW - age_days * DAY
    store(system, Upload(camera, seq, "machine", body, hashlib.sha256(body).hexdigest(), start, 4, 10.0))
    unsure = {"frame": 1, "time": start, "class": "person", "score": 0.3, "box": [1, 2, 3, 4]}
    found = [unsure, {**unsure, "frame": 0, "score": 0.9}] if person else [unsure]
    store_detections(system, camera, seq, found)


def names(doomed: list) -> list[tuple[str, int]]:
    return [(segment.camera, segment.seq) for segment in doomed]


def test_age_by_camera_and_by_the_classes_found(tmp_path: Path, bodies: list[bytes]) -> None:
    system = open_system(tmp_path / "data")
    add(system, "street", 0, 10, bodies[0])  # 10 days, nothing found: expires after 7
    add(system, "street", 1, 10, bodies[1], person=True)  # a person: kept 30 days
    add(system, "street", 2, 3, bodies[2])  # young
    add(system, "gate", 0, 10, bodies[0])  # the gate camera keeps 14 days
    add(system, "gate", 1, 40, bodies[1], person=True)  # past even the person's 30 days
    policy = RetentionPolicy.from_dict({"keep_days": 7, "cameras": {"gate": 14}, "classes": {"person": 30}})
    assert sorted(names(plan(system, policy, NOW))) == [("gate", 1), ("street", 0)]
    assert sorted(names(prune(system, policy, NOW))) == [("gate", 1), ("street", 0)]
    assert sorted((item.camera, item.seq) for item in system.catalog.objects()) == [
        ("gate", 0), ("street", 1), ("street", 2)]
    assert plan(system, policy, NOW) == [] and check(system).ok


def test_a_budget_removes_what_expires_first_until_the_tier_fits(tmp_path: Path, bodies: list[bytes]) -> None:
    system = open_system(tmp_path / "data")
    for seq in range(6):  # the oldest has a person, so it expires last
        add(system, "cam", seq, 6 - seq, bodies[seq % 3], person=seq == 0)
    sizes = {item.seq: item.bytes for item in system.catalog.objects()}
    budget = sum(sizes.values()) // 2
    policy = RetentionPolicy.from_dict({"keep_days": 7, "classes": {"person": 30}, "budget": {"hot": budget}})
    deleted = names(prune(system, policy, NOW))
    kept = {item.seq: item.bytes for item in system.catalog.objects()}
    assert sum(kept.values()) <= budget < sum(kept.values()) + max(sizes.values())
    assert deleted == [("cam", seq) for seq in range(1, 1 + len(deleted))]  # oldest first, the person kept
    assert 0 in kept and check(system).ok


def test_a_deletion_killed_half_way_is_finished_by_the_next_check(tmp_path: Path,
                                                                  bodies: list[bytes]) -> None:
    system = open_system(tmp_path / "data")
    add(system, "cam", 0, 1, bodies[0])
    (item,) = system.catalog.objects()
    system.catalog.remove_segments("cam", 0)  # the rows are gone; killed before the object was deleted
    assert system.tiers["hot"].exists(item.key) and system.catalog.pending_deletions() == [("hot", item.key)]
    result = check(system)
    assert result.ok and result.orphans == [] and not system.tiers["hot"].exists(item.key)
    assert system.catalog.pending_deletions() == []


@pytest.mark.parametrize(("text", "size"), [("500 MB", 500 * 10**6), ("2 TiB", 2 * 2**40), (4096, 4096),
                                            ("1.5GiB", int(1.5 * 2**30))])
def test_sizes(text: object, size: int) -> None:
    assert parse_bytes(text, "budget.hot") == size


@pytest.mark.parametrize(("raw", "message"), [
    ({"keep_days": 0}, "keep_days"), ({"keep_days": float("nan")}, "keep_days"),
    ({"keep": 7}, "unknown setting"), ({"budget": {"warm": "1 GB"}}, "unknown tier"),
    ({"budget": {"hot": "lots"}}, "budget.hot"), ({"budget": {"hot": -5}}, "budget.hot"),
    ({"cameras": {"../x": 3}}, "bad name"), ({"classes": 3}, "table")])
def test_bad_policies_are_one_line(raw: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RetentionPolicy.from_dict(raw)


@pytest.mark.slow
def test_prune_and_report_from_the_command_line(tmp_path: Path, bodies: list[bytes]) -> None:
    data = tmp_path / "data"
    system = open_system(data)
    add(system, "cam", 0, NOW / DAY - 1, bodies[0])  # started one day after the epoch: ages ago now
    system.close()
    policy = tmp_path / "retention.toml"
    policy.write_text('keep_days = 7\n[classes]\nperson = 30\n[budget]\nhot = "10 GiB"\n')

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*VCM, "storage", *args, "--data", str(data), "--retention", str(policy)],
                              capture_output=True, text=True, timeout=120)

    report = run("report")
    assert report.returncode == 0 and "age: older than 7 days" in report.stdout, report.stdout + report.stderr
    assert "would delete 1 segments" in run("prune", "--dry-run").stdout
    pruned = run("prune")
    assert pruned.returncode == 0 and "deleted 1 segments" in pruned.stdout, pruned.stdout + pruned.stderr
    assert "nothing to delete" in run("prune").stdout
    policy.write_text("keep_days = -1\n")
    refused = run("prune")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "keep_days" in refused.stderr
