"""Local storage tiers (S3 runs in tests/system/)."""

from pathlib import Path

import pytest

from vcm.cloud.storage import object_key, open_tiers
from vcm.errors import InputError


def tier_checks(tiers: dict) -> None:
    """Behaviour every storage backend must show (shared with the S3 test)."""
    hot, cold = tiers["hot"], tiers["cold"]
    key = object_key("cam-a", 7, "machine", "ab" * 32)
    assert not hot.exists(key)
    hot.put(key, b"payload")
    assert hot.exists(key) and not cold.exists(key)
    assert hot.get(key) == b"payload"
    hot.put(key, b"payload 2")  # a rewrite replaces
    assert hot.get(key) == b"payload 2"
    assert list(hot.listing()) == [(key, 9)]
    with pytest.raises(KeyError):
        cold.get(key)
    hot.delete(key)
    assert list(hot.listing()) == []


def test_local_tiers(tmp_path: Path) -> None:
    tier_checks(open_tiers(str(tmp_path)))
    assert (tmp_path / "hot").is_dir() and (tmp_path / "cold").is_dir()


def test_local_put_leaves_no_temporary(tmp_path: Path) -> None:
    tiers = open_tiers(f"file://{tmp_path}")
    tiers["cold"].put("a/b.vcmr", b"x" * 1000)
    assert [p.name for p in (tmp_path / "cold" / "a").iterdir()] == ["b.vcmr"]


def test_bad_storage_urls() -> None:
    with pytest.raises(InputError, match="storage URL"):
        open_tiers("ftp://host/x")
    with pytest.raises(InputError, match="no bucket"):
        open_tiers("s3://")
