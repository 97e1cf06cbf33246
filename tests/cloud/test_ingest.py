"""Storing uploads: checks before anything is written, idempotence, conflicts."""

import hashlib
import tempfile
from pathlib import Path

import pytest

from tests.live_service import moving_frames, segment_bytes
from vcm.cloud.ingest import Refused, Upload, store, store_detections
from vcm.cloud.maintenance import check
from vcm.cloud.system import System, open_system
from vcm.codec import encode


@pytest.fixture(scope="module")
def segment() -> bytes:
    return segment_bytes(8)


@pytest.fixture
def system(tmp_path: Path) -> System:
    return open_system(tmp_path / "data")


def upload(body: bytes, seq: int = 0, layer: str = "machine", sha: str | None = None,
           start: float | None = 100.0, frames: int | None = 8, fps: float | None = 10.0) -> Upload:
    """An upload as a camera sends it; a machine layer declares start, frames and fps (those of
    segment_bytes(8) by default)."""
    return Upload("cam", seq, layer, body, sha or hashlib.sha256(body).hexdigest(), start, frames, fps)


def raw_stream(frames: int = 8) -> bytes:
    """An Annex-B HEVC elementary stream of `frames` frames (no container, no timing)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "segment.hevc"
        encode(moving_frames(frames, 128, 96, 0), 35, path, gop=frames, fps=10)
        return path.read_bytes()


def nothing_stored(system: System) -> bool:
    return not system.catalog.objects() and not any(list(t.listing()) for t in system.tiers.values())


def test_a_segment_is_stored_once(system: System, segment: bytes) -> None:
    assert store(system, upload(segment)) is True
    assert store(system, upload(segment)) is False  # a repeated upload is a no-op
    (item,) = system.catalog.objects()
    assert (item.tier, item.bytes, item.sha256) == ("hot", len(segment), hashlib.sha256(segment).hexdigest())
    recorded = system.catalog.segment("cam", 0)
    assert (recorded.frames, recorded.width, recorded.height, recorded.codec) == (8, 128, 96, "hevc")
    assert system.tiers["hot"].get(item.key) == segment
    assert check(system).ok


@pytest.mark.parametrize(("case", "status"), [
    ("wrong hash", 400), ("hash not hex", 400), ("not a video", 422), ("truncated video", 422),
    ("no start time", 400), ("no frame count", 400), ("no frame rate", 400), ("restoration first", 409),
    ("fewer frames than declared", 422), ("another frame rate", 422), ("a raw HEVC stream", 422)])
def test_bad_uploads_store_nothing(system: System, segment: bytes, case: str, status: int) -> None:
    bad = {
        "wrong hash": upload(segment, sha=hashlib.sha256(b"other").hexdigest()),
        "hash not hex": upload(segment, sha="z" * 64),
        "not a video": upload(b"hello, this is text" * 50),
        "truncated video": upload(segment[: len(segment) // 3]),
        "no start time": upload(segment, start=None),
        "no frame count": upload(segment, frames=None),
        "no frame rate": upload(segment, fps=None),
        "fewer frames than declared": upload(segment, frames=9),
        "another frame rate": upload(segment, fps=25.0),
        "a raw HEVC stream": upload(raw_stream()),
        "restoration first": upload(b"layer", layer="restoration"),
    }[case]
    with pytest.raises(Refused) as refused:
        store(system, bad)
    assert refused.value.status == status
    assert nothing_stored(system)


def test_a_different_body_for_a_stored_segment_conflicts(system: System, segment: bytes) -> None:
    store(system, upload(segment))
    other = segment_bytes(8, seed=1)
    with pytest.raises(Refused) as refused:
        store(system, upload(other))
    assert refused.value.status == 409
    (item,) = system.catalog.objects()
    assert system.tiers["hot"].get(item.key) == segment


def test_an_orphan_left_by_a_crash_is_completed_by_the_retry(system: System, segment: bytes) -> None:
    from vcm.cloud.storage import object_key

    key = object_key("cam", 0, "machine", hashlib.sha256(segment).hexdigest())
    system.tiers["hot"].put(key, segment[:100])  # the first bytes, then the crash
    assert check(system).orphans == [f"hot:{key}"]
    assert store(system, upload(segment)) is True
    assert check(system).ok


def test_detections_need_their_segment_and_a_list(system: System, segment: bytes) -> None:
    item = {"frame": 1, "time": 100.1, "class": "person", "score": 0.9, "box": [1, 2, 3, 4]}
    with pytest.raises(Refused) as refused:
        store_detections(system, "cam", 0, [item])
    assert refused.value.status == 409
    store(system, upload(segment))
    for bad in ({"frame": 1}, [{"frame": 1}], [{**item, "box": [1, 2]}]):
        with pytest.raises(Refused) as refused:
            store_detections(system, "cam", 0, bad)
        assert refused.value.status == 400
    assert store_detections(system, "cam", 0, [item, item]) is True
    assert system.catalog.segment("cam", 0).detections == 2


def test_a_camera_cannot_rewrite_its_detections(system: System, segment: bytes) -> None:
    store(system, upload(segment))
    first = [{"frame": 3, "time": 100.3, "class": "car", "score": 0.8, "box": [5, 6, 7, 8]},
             {"frame": 1, "time": 100.1, "class": "person", "score": 0.9, "box": [1, 2, 3, 4]}]
    assert store_detections(system, "cam", 0, first) is True
    assert store_detections(system, "cam", 0, first[::-1]) is False  # the same list again: a no-op
    with pytest.raises(Refused) as refused:
        store_detections(system, "cam", 0, [{**first[1], "class": "dog"}])
    assert refused.value.status == 409
    assert [record.class_name for record in system.catalog.detections("cam", 0)] == ["person", "car"]
