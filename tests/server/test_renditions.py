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
