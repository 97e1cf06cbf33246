"""Shared fixtures: the real sample clip and the real detector, loaded once per session."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker per core: a worker's math libraries get one thread each, set
    # before torch loads (two workers spinning two threads each spent half the time in the kernel)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from vcm.media import Video, fetch_sample, read_video
from vcm.models import YoloV3Tiny, load_detector

if TYPE_CHECKING:
    from vcm.models.dlib_identity import DlibIdentity
    from vcm.models.faces import FaceIdentity
    from vcm.models.mtcnn import Mtcnn


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return fetch_sample()


@pytest.fixture(scope="session")
def clip(sample_path: Path) -> Video:
    """The first 12 frames of the sample clip (768x576, 10 fps)."""
    return read_video(sample_path, max_frames=12)


@pytest.fixture(scope="session")
def frames(clip: Video) -> np.ndarray:
    return clip.frames


@pytest.fixture(scope="session")
def detector() -> YoloV3Tiny:
    """YOLOv3-tiny: the mechanisms' tests were built on it (NanoDet, the default, has its own)."""
    detector = load_detector("yolov3-tiny")
    assert isinstance(detector, YoloV3Tiny)
    return detector


@pytest.fixture(scope="session")
def face_detector() -> "Mtcnn":
    from vcm.models.face_detectors import load_face_detector

    return load_face_detector("mtcnn")


@pytest.fixture(scope="session")
def face_identity() -> "DlibIdentity":
    from vcm.models.face_identities import load_face_identity

    return load_face_identity()


@pytest.fixture(scope="session")
def attackers() -> dict[str, "FaceIdentity"]:
    """Every face identity model leaks are measured with, by name."""
    from vcm.models.face_identities import load_attackers

    return load_attackers()


@pytest.fixture(scope="session")
def face_video() -> np.ndarray:
    """Six frames of the obama3 camera-move clip (480x480): a standing person whose face
    (about 60 px) MTCNN finds and YOLOv3-tiny's person score is above 0.7."""
    from vcm.media.face_clips import face_clip

    return face_clip("obama3", 6)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """Debian's ffmpeg binary, the independent conformance check. `make test` installs it
    (ffmpeg-check), so a missing binary fails the tests that need it rather than skipping them."""
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail("Debian's ffmpeg is missing: run `make ffmpeg-check` (or apt-get install ffmpeg)")
    return path
