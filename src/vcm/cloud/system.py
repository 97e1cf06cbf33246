"""A data folder and the system it names: its catalog and storage.

`vcm serve --data DIR [--catalog URL] [--storage URL]` records the URLs in
DIR/system.json the first time they are given, so later commands on the same folder
(`vcm token create`, `vcm storage report`) need only `--data DIR`. Defaults: an SQLite
catalog DIR/catalog.sqlite and local tiers DIR/hot, DIR/cold.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from vcm.atomic import atomic_output
from vcm.cloud.catalog import Catalog
from vcm.cloud.storage import Tier, open_tiers
from vcm.errors import InputError, OutputError

SETTINGS_FILE = "system.json"


@dataclass
class System:
    """An open catalog and its storage tiers."""

    data: Path
    catalog: Catalog
    tiers: dict[str, Tier]

    def close(self) -> None:
        self.catalog.close()


def system_urls(data: Path, catalog: str | None = None, storage: str | None = None) -> tuple[str, str]:
    """The catalog and storage URLs of `data` (recorded, given or default); records given ones
    and refuses ones that differ from those recorded."""
    if data.exists() and not data.is_dir():
        raise InputError(f"--data {data} is a file, not a folder")
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the data folder {data}: {error.strerror}") from None
    settings_path = data / SETTINGS_FILE
    recorded: dict[str, str] = {}
    if settings_path.is_file():
        try:
            recorded = json.loads(settings_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{settings_path} is not valid JSON") from None
    default_catalog = f"sqlite:///{(data / 'catalog.sqlite').resolve()}"
    wanted = {"catalog": catalog or recorded.get("catalog") or default_catalog,
              "storage": storage or recorded.get("storage") or str(data.resolve())}
    for key, value in wanted.items():
        if key in recorded and recorded[key] != value:
            raise InputError(f"{data} already uses --{key} {recorded[key]}; it cannot switch to {value}")
    if recorded != wanted:
        with atomic_output(settings_path) as temporary:
            temporary.write_text(json.dumps(wanted, indent=2) + "\n")
    return wanted["catalog"], wanted["storage"]


def open_system(data: Path, catalog: str | None = None, storage: str | None = None) -> System:
    catalog_url, storage_url = system_urls(data, catalog, storage)
    return System(data, Catalog(catalog_url), open_tiers(storage_url))
