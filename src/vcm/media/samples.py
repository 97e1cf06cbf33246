"""The embedded default clip: vtest.avi from Debian's opencv-doc package, fetched once."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from vcm.cache import cache_dir, verify
from vcm.errors import AssetError

SAMPLE_NAME = "vtest.avi"
SAMPLE_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"
DEBIAN_PACKAGE = "opencv-doc"
MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"
HOW_TO_FIX = (
    "run `vcm fetch samples` (needs apt-get and Debian's package lists), or extract "
    f"{MEMBER[1:]} from Debian's {DEBIAN_PACKAGE} package into the cache by hand; "
    "any other video file works as input too"
)


# Frame ranges of the sample that every learned part splits the same way: train on the first
# half, choose settings on the next part, report on the last third.
SAMPLE_SPLITS = {"train": (0, 396), "validation": (396, 528), "test": (528, 795)}


def sample_path() -> Path:
    """Where the sample clip lives in the cache."""
    return cache_dir() / "samples" / SAMPLE_NAME


def fetch_sample() -> Path:
    """Return the verified sample clip (768x576, 10 fps, 795 frames), fetching it on first use."""
    target = sample_path()
    if not target.exists():
        _fetch_from_debian(target)
    return verify(target, SAMPLE_SHA256, HOW_TO_FIX)


def sample_frames(start: int, stop: int, step: int = 1) -> Iterator[np.ndarray]:
    """The sample's frames start, start + step, ... < stop as (576, 768, 3) uint8 RGB, decoding no further."""
    with av.open(str(fetch_sample())) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= stop:
                break
            if index >= start and (index - start) % step == 0:
                yield frame.to_ndarray(format="rgb24")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _fetch_from_debian(target: Path) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise AssetError(f"apt-get/dpkg-deb not found, so the sample cannot be fetched; {HOW_TO_FIX}")
    with tempfile.TemporaryDirectory(prefix="vcm-sample-") as work:
        folder = Path(work)
        download = _run(["apt-get", "download", DEBIAN_PACKAGE], folder)
        if download.returncode != 0 and os.geteuid() == 0:
            _run(["apt-get", "update"], folder)
            download = _run(["apt-get", "download", DEBIAN_PACKAGE], folder)
        packages = sorted(folder.glob(f"{DEBIAN_PACKAGE}_*.deb"))
        if download.returncode != 0 or not packages:
            reason = download.stderr.strip().splitlines()[-1:] or ["no package downloaded"]
            raise AssetError(f"apt-get download {DEBIAN_PACKAGE} failed ({reason[0]}); {HOW_TO_FIX}")
        tar_stream = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(packages[0])],
                                      stdout=subprocess.PIPE)
        extract = subprocess.run(["tar", "-x", MEMBER], stdin=tar_stream.stdout, cwd=folder,
                                 capture_output=True, text=True, check=False)
        tar_stream.wait()
        extracted = folder / MEMBER
        if extract.returncode != 0 or not extracted.is_file():
            raise AssetError(f"{MEMBER[1:]} not found in {packages[0].name}; {HOW_TO_FIX}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.move(str(extracted), partial)
        os.replace(partial, target)
