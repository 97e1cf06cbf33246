"""A data folder and the system it names: its catalog and storage.

`vcm serve --data DIR [--catalog URL] [--storage URL]` records the URLs in
DIR/system.json once the catalog and storage they name have opened, so later commands on
the same folder (`vcm token create`, `vcm storage report`) need only `--data DIR`.
Defaults: an SQLite catalog DIR/catalog.sqlite and local tiers DIR/hot, DIR/cold.
A password in the catalog URL is used, never recorded or printed: later commands take it
from PGPASSWORD or ~/.pgpass as libpq does. The data folder and everything written under it
are readable by their owner only.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from vcm.atomic import atomic_output, private_folder
from vcm.cloud.catalog import Catalog, without_password
from vcm.cloud.storage import Tier, open_tiers, with_endpoint
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


def _recorded(data: Path) -> dict[str, str]:
    """The URLs DATA/system.json records (none for a new folder); the folder made private."""
    if data.exists() and not data.is_dir():
        raise InputError(f"--data {data} is a file, not a folder")
    try:
        private_folder(data)
    except OSError as error:
        raise OutputError(f"cannot create the data folder {data}: {error.strerror}") from None
    settings_path = data / SETTINGS_FILE
    if not settings_path.is_file():
        return {}
    try:
        recorded = json.loads(settings_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{settings_path} is not valid JSON") from None
    if not isinstance(recorded, dict):
        raise InputError(f"{settings_path} is not a JSON object")
    return recorded


def open_system(data: Path, catalog: str | None = None, storage: str | None = None) -> System:
    """The system of `data`: the catalog and storage it records, or those given (recorded once
    both have opened; different ones than recorded are refused)."""
    recorded = _recorded(data)
    catalog_url = catalog or recorded.get("catalog") or f"sqlite:///{(data / 'catalog.sqlite').resolve()}"
    storage_url = with_endpoint(storage or recorded.get("storage") or str(data.resolve()))
    wanted = {"catalog": without_password(catalog_url), "storage": storage_url}
    for key, value in wanted.items():
        if key in recorded and (with_endpoint(recorded[key]) if key == "storage" else recorded[key]) != value:
            raise InputError(f"{data} already uses --{key} {recorded[key]}; it cannot switch to {value}")
    opened = System(data, Catalog(catalog_url), open_tiers(storage_url))
    if recorded != wanted:
        with atomic_output(data / SETTINGS_FILE) as temporary:
            temporary.write_text(json.dumps(wanted, indent=2) + "\n")
    return opened
