"""Uploads against a real service that is killed (SIGKILL) and restarted mid-way."""

import time
from pathlib import Path

import httpx
import pytest

from tests.live_service import Service, create_token, segment_bytes
from vcm.api.client import Client
from vcm.cloud.maintenance import check
from vcm.cloud.system import open_system
from vcm.edge.spool import Spool
from vcm.edge.uploader import TokenRefused, Uploader

pytestmark = pytest.mark.system  # starts real servers

SEGMENTS = 24


def stored_segments(url: str, token: str, camera: str) -> list[int]:
    response = httpx.get(f"{url}/api/cameras/{camera}/segments", headers={"Authorization": f"Bearer {token}"})
    return [item["seq"] for item in response.json()]


def test_a_service_killed_mid_upload_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    camera_token, reader_token = create_token(data, "cam"), create_token(data, "ops", "reader")
    spool = Spool(tmp_path / "spool", "cam")
    bodies = [segment_bytes(6, seed=seq) for seq in range(SEGMENTS)]
    for seq, body in enumerate(bodies):
        spool.add(seq, 1000.0 + seq * 0.6, seq * 6, 6, 10.0,
                  {"machine": body, "detections": b'[{"frame": 0, "time": 1000.0, "class": "person", '
                                                   b'"score": 0.9, "box": [1, 2, 3, 4]}]'})
    service = Service(data).start()
    lines: list[str] = []
    uploader = Uploader(Client(service.url, camera_token), "cam", spool, log=lines.append, give_up_after=120)
    try:
        uploader.start()
        deadline = time.monotonic() + 120
        while uploader.counts.acknowledged < SEGMENTS // 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        service.kill()  # in the middle of the uploads
        killed_at = uploader.counts.acknowledged
        assert 0 < killed_at < SEGMENTS
        time.sleep(1.0)  # the agent keeps retrying against a dead port
        service.start()  # same data folder, same port
        uploader.finish()
        uploader.join(180)
        assert not uploader.is_alive() and uploader.error is None
        assert uploader.counts.retries > 0 and uploader.counts.acknowledged == SEGMENTS
        assert spool.pending() == []
        assert stored_segments(service.url, reader_token, "cam") == list(range(SEGMENTS))
    finally:
        service.stop()
    system = open_system(data)
    result = check(system)
    assert result.ok, result.to_dict()  # every hash matches, no orphan, nothing missing
    objects = system.catalog.objects()
    assert [(o.seq, o.layer) for o in objects] == [(seq, "machine") for seq in range(SEGMENTS)]
    for item in objects:
        assert system.tiers["hot"].get(item.key) == bodies[item.seq]
    assert sum(system.catalog.segment("cam", seq).detections for seq in range(SEGMENTS)) == SEGMENTS


def test_a_segment_refused_for_good_is_set_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = create_token(data, "cam")
    spool = Spool(tmp_path / "spool", "cam")
    spool.add(0, 10.0, 0, 6, 10.0, {"machine": b"this is not a video" * 40, "detections": b"[]"})
    spool.add(1, 10.6, 6, 6, 10.0, {"machine": segment_bytes(6), "detections": b"[]"})
    lines: list[str] = []
    with Service(data) as service:
        uploader = Uploader(Client(service.url, token), "cam", spool, log=lines.append, give_up_after=60)
        uploader.start()
        uploader.finish()
        uploader.join(120)
    assert (uploader.counts.acknowledged, uploader.counts.rejected) == (1, 1)
    assert (spool.rejected / "0000000000" / "machine").is_file()
    assert any("segment 0: refused" in line and "422" in line for line in lines)


def test_uploads_give_up_when_asked(tmp_path: Path) -> None:
    from tests.live_service import free_port

    spool = Spool(tmp_path / "spool", "cam")
    spool.add(0, 10.0, 0, 6, 10.0, {"machine": b"x"})
    uploader = Uploader(Client(f"http://127.0.0.1:{free_port()}", "token"), "cam", spool, log=lambda _: None,
                        give_up_after=1.0)
    started = time.monotonic()
    uploader.run()  # nothing listens on that port
    assert isinstance(uploader.error, TimeoutError) and time.monotonic() - started < 30
    assert len(spool.pending()) == 1


def test_a_refused_token_stops_the_uploads_and_keeps_every_segment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = create_token(data, "cam")
    spool = Spool(tmp_path / "spool", "cam")
    for seq in range(3):
        spool.add(seq, 10.0 + seq, seq * 4, 4, 10.0,
                  {"machine": segment_bytes(4, seed=seq), "detections": b"[]"})
    lines: list[str] = []
    with Service(data) as service:
        for wrong in ("vcm_not-a-token", create_token(data, "other-camera")):  # 401, then 403
            refused = Uploader(Client(service.url, wrong), "cam", spool, log=lines.append, give_up_after=60)
            refused.run()
            assert isinstance(refused.error, TokenRefused) and "token" in str(refused.error)
            assert refused.counts.rejected == 0 and [s.seq for s in spool.pending()] == [0, 1, 2]
            assert not spool.rejected.exists()
        fixed = Uploader(Client(service.url, token), "cam", spool, log=lines.append, give_up_after=60)
        fixed.finish()
        fixed.run()
        assert fixed.error is None and fixed.counts.acknowledged == 3 and spool.pending() == []
