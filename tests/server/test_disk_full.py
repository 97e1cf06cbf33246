"""A storage disk that fills up: the upload answers 507, nothing half-written stays, and the
segment is stored once there is room again."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.live_service import Service, create_token, segment_bytes
from vcm.api.client import Client, ServerError
from vcm.codec import encode

pytestmark = pytest.mark.system  # starts real servers


def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `mount` while the test runs (needs root, as the test machines run)."""
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 KiB disk: smaller than some segments."""
    yield from tmpfs(tmp_path / "disk", "128k")


@pytest.fixture
def catalog_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB disk for the catalog alone."""
    yield from tmpfs(tmp_path / "catalog-disk", "4m")


def noise_segment(path: Path) -> bytes:
    """A segment of random pictures at QP 10: hundreds of KiB."""
    frames = np.random.default_rng(0).integers(0, 256, (4, 256, 256, 3), dtype=np.uint8)
    encode(frames, 10, path, gop=4, fps=10)
    return path.read_bytes()


def test_a_full_disk_answers_507_and_stores_nothing(tmp_path: Path, tiny_disk: Path) -> None:
    data = tmp_path / "data"
    token = create_token(data, "cam", "camera", "--storage", str(tiny_disk))
    small, large = segment_bytes(4, seed=1), noise_segment(tmp_path / "noise.mp4")
    assert len(small) < 64 << 10 < 128 << 10 < len(large)
    with Service(data) as service, Client(service.url, token) as client:
        with pytest.raises(ServerError) as full:
            client.put_layer("cam", 0, "machine", large, start=1.0, frames=4, fps=10)
        assert full.value.status == 507 and "disk is full" in str(full.value)
        assert full.value.retryable  # the agent keeps it spooled and tries again later
        assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
        assert client.segments("cam") == []
        assert client.put_layer("cam", 1, "machine", small, start=2.0, frames=4, fps=10)  # room for a small
        assert [item["seq"] for item in client.segments("cam")] == [1]


def fill(folder: Path, leave: int) -> Path:
    """Fill the disk holding `folder` up to `leave` free bytes with one file; returns it."""
    import os

    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler.write_bytes(b"\0" * max(free - leave, 0))
    return filler


def test_a_full_catalog_disk_answers_507_and_leaves_no_object(tmp_path: Path, catalog_disk: Path) -> None:
    data = tmp_path / "data"
    token = create_token(data, "cam", "camera", "--catalog", f"sqlite:///{catalog_disk}/catalog.sqlite")
    body = segment_bytes(4, seed=2)
    with Service(data) as service, Client(service.url, token) as client:
        assert client.put_layer("cam", 0, "machine", segment_bytes(4, seed=1), start=1.0, frames=4,
                                 fps=10)  # the catalog grows
        filler = fill(catalog_disk, 0)
        with pytest.raises(ServerError) as full:
            client.put_layer("cam", 1, "machine", body, start=2.0, frames=4, fps=10)
        assert full.value.status == 507 and "catalog" in str(full.value) and "disk is full" in str(full.value)
        assert full.value.retryable
        stored = sorted(p.name for p in (data / "hot").rglob("*") if p.is_file())
        assert len(stored) == 1  # segment 0 only: no orphan of segment 1
        filler.unlink()
        assert client.put_layer("cam", 1, "machine", body, start=2.0, frames=4, fps=10)  # room again
        assert [item["seq"] for item in client.segments("cam")] == [0, 1]
    log = service.log.read_text()
    assert "Traceback" not in log
