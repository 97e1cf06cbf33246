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


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 KiB tmpfs (needs root, as the test machines run)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


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
            client.put_layer("cam", 0, "machine", large, start=1.0)
        assert full.value.status == 507 and "disk is full" in str(full.value)
        assert full.value.retryable  # the agent keeps it spooled and tries again later
        assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
        assert client.segments("cam") == []
        assert client.put_layer("cam", 1, "machine", small, start=2.0)  # room for a small one
        assert [item["seq"] for item in client.segments("cam")] == [1]
