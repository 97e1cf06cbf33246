"""Shared fixtures: the real sample clip and the real detector, loaded once per session."""

from pathlib import Path

import numpy as np
import pytest

from vcm.media import Video, fetch_sample, read_video
from vcm.models import YoloV3Tiny, load_detector


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
    return load_detector()
