"""The data folder: private files, URLs recorded only once they open, no password kept."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from tests.live_service import segment_bytes
from vcm.cloud.catalog import without_password
from vcm.cloud.ingest import Upload, store
from vcm.cloud.system import SETTINGS_FILE, open_system
from vcm.edge.spool import Spool
from vcm.errors import InputError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_footage_catalog_and_settings_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    system = open_system(data)
    body = segment_bytes(4)
    store(system, Upload("cam", 0, "machine", body, hashlib.sha256(body).hexdigest(), 10.0, 4, 10.0))
    system.close()
    assert mode(data) == 0o700
    files = [path for path in data.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {SETTINGS_FILE, "catalog.sqlite"}
    assert any(path.suffix == ".mp4" for path in files)
    assert {oct(mode(path)) for path in files} == {oct(0o600)}
    assert {oct(mode(path)) for path in data.rglob("*") if path.is_dir()} == {oct(0o700)}
    os.umask(0o022)  # the spool makes itself private too, whatever came before
    (tmp_path / "spool").mkdir(mode=0o755)
    spool = Spool(tmp_path / "spool", "cam")
    spool.add(0, 1.0, 0, 4, 10.0, {"machine": body})
    assert mode(tmp_path / "spool") == 0o700 and mode(spool.folder) == 0o700
    assert {oct(mode(path)) for path in spool.folder.rglob("*") if path.is_file()} == {oct(0o600)}


def test_a_catalog_that_does_not_open_is_not_recorded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(InputError, match="cannot open the catalog"):
        open_system(data, catalog=f"sqlite:///{tmp_path}/no-such-folder/catalog.sqlite")  # a typo
    assert not (data / SETTINGS_FILE).exists()
    good = f"sqlite:///{tmp_path}/catalog.sqlite"
    open_system(data, catalog=good).close()  # the folder is not locked to the typo
    assert json.loads((data / SETTINGS_FILE).read_text())["catalog"] == good


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://vcm:s3cret@db.local:5432/vcm", "postgresql+psycopg://vcm@db.local:5432/vcm"),
    ("postgresql+psycopg://vcm@db.local/vcm", "postgresql+psycopg://vcm@db.local/vcm"),
    ("sqlite:////var/lib/vcm/catalog.sqlite", "sqlite:////var/lib/vcm/catalog.sqlite")])
def test_passwords_are_removed_from_catalog_urls(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_a_password_is_neither_recorded_nor_printed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(InputError) as refused:  # nothing listens on port 9
        open_system(data, catalog="postgresql+psycopg://vcm:s3cret@127.0.0.1:9/vcm")
    assert "s3cret" not in str(refused.value) and "vcm@127.0.0.1:9" in str(refused.value)
    assert not (data / SETTINGS_FILE).exists()
