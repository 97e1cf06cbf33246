"""The browser renditions cache is pruned, least recently used first."""

import os
from pathlib import Path

import pytest

from vcm.server.renditions import prune

pytestmark = pytest.mark.system  # starts real servers


def test_prune_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    paths = []
    for index in range(4):
        path = tmp_path / "cam" / f"{index}.mp4"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + index, 1000 + index))
        paths.append(path)
    os.utime(paths[0], (5000, 5000))  # watched again just now
    prune(tmp_path, 250, keep=paths[3])
    assert [p.exists() for p in paths] == [True, False, False, True]


def test_prune_leaves_renditions_being_written_alone(tmp_path: Path) -> None:
    """Another request's rendition in progress (vcm.atomic's dot name, ending .mp4 like the
    rendition) is neither counted nor deleted: it vanishes by rename at any moment."""
    done = tmp_path / "cam" / "1.mp4"
    done.parent.mkdir()
    done.write_bytes(b"x" * 100)
    writing = done.parent / ".2.mp4.123.abc.part.mp4"
    writing.write_bytes(b"y" * 1000)
    keep = done.parent / "3.mp4"
    keep.write_bytes(b"z" * 100)
    prune(tmp_path, 150, keep=keep)
    assert not done.exists() and writing.exists() and keep.exists()
