"""The cache directory for fetched weights and samples, and checksum checks."""

import hashlib
import os
from pathlib import Path

from vcm.errors import AssetError

CACHE_ENV = "VCM_HOME"


def cache_dir() -> Path:
    """The cache root: $VCM_HOME, else ~/.cache/vcm (created on demand)."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "vcm")
    root.mkdir(parents=True, exist_ok=True)
    return root


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected_sha256: str, how_to_fix: str) -> Path:
    """Return path if it exists with the expected checksum, else raise AssetError."""
    if not path.is_file():
        raise AssetError(f"{path} is missing; {how_to_fix}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise AssetError(
            f"{path} is corrupt (sha256 {actual[:12]}..., expected {expected_sha256[:12]}...); "
            f"delete it and {how_to_fix}"
        )
    return path
