"""The catalog on SQLite (PostgreSQL runs the same tests in tests/system/)."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from vcm.api.contract import DetectionRecord
from vcm.cloud.catalog import MIGRATIONS, Catalog, Segment, StoredObject
from vcm.errors import InputError


def catalog_checks(catalog: Catalog) -> None:
    """Behaviour every catalog backend must show (shared with the PostgreSQL test)."""
    camera_token = catalog.create_token("cam-a", "camera")
    reader_token = catalog.create_token("alice", "reader")
    assert camera_token != reader_token and len(camera_token) >= 40
    assert all(t.startswith("vcm_") for t in (camera_token, reader_token))
    assert catalog.principal(camera_token).name == "cam-a"
    assert catalog.principal(reader_token).role == "reader"
    assert catalog.principal("not-a-token") is None
    for seq, start in ((0, 1000.0), (1, 1003.2), (2, 1006.4)):
        segment = Segment("cam-a", seq, start, 32, 10.0, 768, 576, "hevc", 0)
        catalog.add_object(StoredObject("cam-a", seq, "machine", f"cam-a/{seq}.m", "hot", "ab" * 32,
                                        5000 + seq, 2000.0), segment)
    catalog.add_object(StoredObject("cam-a", 1, "restoration", "cam-a/1.r", "cold", "cd" * 32, 9000, 2000.0))
    catalog.replace_detections("cam-a", 1, [
        DetectionRecord(3, 1003.5, "person", 0.9, (1, 2, 30, 60)),
        DetectionRecord(4, 1003.6, "person", 0.8, (2, 2, 31, 61)),
        DetectionRecord(4, 1003.6, "car", 0.7, (50, 50, 90, 80))])
    catalog.replace_detections("cam-a", 2, [DetectionRecord(0, 1006.4, "person", 0.75, (1, 1, 9, 9))])
    (row,) = catalog.cameras()
    assert (row["segments"], row["frames"], row["hot_bytes"], row["cold_bytes"], row["detections"]) == (
        3, 96, 15003, 9000, 4)
    hits = catalog.search("person")
    assert [(h["seq"], h["count"], h["times"]) for h in hits] == [(1, 2, [1003.5, 1003.6]), (2, 1, [1006.4])]
    assert catalog.search("person", start=1005.0)[0]["seq"] == 2
    assert catalog.search("person", min_score=0.85)[0]["count"] == 1
    assert catalog.search("dog") == []
    assert [s.seq for s in catalog.segments("cam-a", 1004.0, 1005.0)] == [1]
    catalog.replace_detections("cam-a", 1, [])  # replacing is all or nothing, and idempotent
    assert [h["seq"] for h in catalog.search("person")] == [2]
    with pytest.raises(sa.exc.IntegrityError):  # one object per segment and layer
        catalog.add_object(StoredObject("cam-a", 1, "restoration", "x", "cold", "ef" * 32, 1, 0.0))
    token_checks(catalog)


def token_checks(catalog: Catalog) -> None:
    """Expiry, rotation with a grace period, and camera and reader names kept apart."""
    import time

    soon = catalog.create_token("gate", "camera", expires=time.time() + 60)
    assert catalog.principal(soon).name == "gate" and catalog.principal(soon, now=time.time() + 61) is None
    twin = catalog.create_token("gate", "reader")  # a reader who shares the camera's name
    rotated = catalog.rotate_token("gate", "camera", grace_s=3600)
    later = time.time() + 3601
    assert catalog.principal(soon).name == "gate" and catalog.principal(rotated, now=later).name == "gate"
    assert catalog.principal(soon, now=later) is None  # the earlier token ended with the grace period
    assert catalog.principal(twin, now=later).role == "reader"  # rotating the camera left the reader alone
    listed = [(row["name"], row["role"]) for row in catalog.tokens("gate")]
    assert listed == [("gate", "camera"), ("gate", "camera"), ("gate", "reader")]
    assert all(set(row) == {"name", "role", "created", "expires"} for row in catalog.tokens())
    assert catalog.revoke_tokens("gate", "camera") == 2
    assert catalog.principal(rotated) is None and catalog.principal(twin).role == "reader"
    with pytest.raises(InputError, match="create one first"):
        catalog.rotate_token("gate", "camera", grace_s=0)


def test_sqlite_catalog(tmp_path: Path) -> None:
    catalog_checks(Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}"))


def test_schema_is_migrated_once_and_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    token = Catalog(url).create_token("cam", "camera")
    reopened = Catalog(url)
    assert reopened.principal(token).name == "cam"
    with reopened.engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from schema_version")).scalar() == len(MIGRATIONS)


def test_a_catalog_made_before_token_expiry_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    token = Catalog(url).create_token("cam", "camera")
    with Catalog(url).engine.begin() as connection:  # back to the tables of schema version 2
        connection.execute(sa.text("ALTER TABLE tokens DROP COLUMN expires"))
        connection.execute(sa.text("DELETE FROM schema_version WHERE version > 2"))
    migrated = Catalog(url)
    assert migrated.principal(token).name == "cam" and migrated.tokens()[0]["expires"] is None


def test_detections_stored_before_reanalyses_are_the_edge_s(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    with Catalog(url).engine.begin() as connection:  # back to the tables of schema version 3
        connection.execute(sa.text("ALTER TABLE detections DROP COLUMN source"))
        connection.execute(sa.text("DELETE FROM schema_version WHERE version > 3"))
        connection.execute(sa.text("INSERT INTO detections (camera, seq, frame, time, class_name, score, x0, "
                                   "y0, x1, y1) VALUES ('cam', 0, 0, 100.0, 'person', 0.9, 0, 0, 10, 10)"))
    migrated = Catalog(url)
    assert [d.class_name for d in migrated.detections("cam", 0)] == ["person"]
    assert [(hit["seq"], hit["source"]) for hit in migrated.search("person")] == [(0, "edge")]
    assert migrated.sources("cam", 0) == ["edge"]


def test_bad_names_roles_and_urls(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with pytest.raises(InputError, match="bad name"):
        catalog.create_token("../etc", "camera")
    with pytest.raises(InputError, match="role"):
        catalog.create_token("cam", "admin")
    with pytest.raises(InputError, match="catalog"):
        Catalog("nosuchdb://x")
