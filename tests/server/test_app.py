"""The HTTP API of a real `vcm serve` on loopback: tokens, refusals, round trips."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_service import Service, create_token, segment_bytes
from vcm.api.client import Client, ServerError

pytestmark = pytest.mark.system  # starts real servers


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str, str]]:
    data = tmp_path_factory.mktemp("api") / "data"
    camera, reader = create_token(data, "cam1"), create_token(data, "alice", "reader")
    with Service(data, "--max-upload-mb", "0.25") as running:
        yield running, camera, reader


@pytest.fixture(scope="module")
def segment() -> bytes:
    return segment_bytes(8)


ENDPOINTS = [("GET", "/metrics"), ("GET", "/api/whoami"), ("GET", "/api/cameras"),
             ("GET", "/api/search?class=person"),
             ("GET", "/api/cameras/cam1/segments"), ("GET", "/api/cameras/cam1/segments/0/machine"),
             ("GET", "/api/cameras/cam1/segments/0/detections"),
             ("GET", "/api/cameras/cam1/segments/0/view.mp4"),
             ("PUT", "/api/cameras/cam1/segments/0/machine"),
             ("PUT", "/api/cameras/cam1/segments/0/detections"),
             ("GET", "/api/cameras/cam1/segments/0/analyses"),
             ("GET", "/api/cameras/cam1/export.mp4"),
             ("GET", "/api/cameras/cam1/segments/0/analyses/yolo"),
             ("PUT", "/api/cameras/cam1/segments/0/analyses/yolo"),
             ("DELETE", "/api/cameras/cam1/segments/0"), ("GET", "/api/no/such/endpoint")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic abc", "Bearer"])
def test_every_api_endpoint_needs_a_valid_token(service: tuple[Service, str, str], method: str, path: str,
                                                header: str | None) -> None:
    running, _, _ = service
    headers = {"Authorization": header} if header else {}
    response = httpx.request(method, running.url + path, headers=headers, content=b"x", timeout=30)
    assert response.status_code == 401
    assert "token" in response.json()["error"]


def test_whoami_names_the_token(service: tuple[Service, str, str]) -> None:
    running, camera_token, reader_token = service
    assert Client(running.url, camera_token).whoami() == {"name": "cam1", "role": "camera"}
    assert Client(running.url, reader_token).whoami() == {"name": "alice", "role": "reader"}


def test_health_and_viewer_are_open(service: tuple[Service, str, str]) -> None:
    running, _, _ = service
    assert httpx.get(running.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(running.url + "/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/cameras", "/api/no/such", "/healthz"])
def test_every_response_carries_the_security_headers(service: tuple[Service, str, str], path: str) -> None:
    running, _, reader_token = service
    headers = httpx.get(running.url + path, headers={"Authorization": f"Bearer {reader_token}"}).headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_upload_round_trip_and_refusals(service: tuple[Service, str, str], segment: bytes) -> None:
    running, camera_token, reader_token = service
    camera, reader = Client(running.url, camera_token), Client(running.url, reader_token)
    url = f"{running.url}/api/cameras/cam1/segments/0/machine"
    auth = {"Authorization": f"Bearer {camera_token}", "X-Segment-Start": "1000.0", "X-Segment-Frames": "8",
            "X-Segment-Fps": "10"}
    sha = hashlib.sha256(segment).hexdigest()

    def put(body: bytes, **headers: str) -> httpx.Response:
        return httpx.put(url, content=body, headers={**auth, "X-Content-SHA256": sha, **headers}, timeout=60)

    assert put(segment, **{"X-Content-SHA256": "0" * 64}).status_code == 400
    assert put(b"not a video" * 100, **{"X-Content-SHA256": hashlib.sha256(b"not a video" * 100).hexdigest()}
               ).status_code == 422
    oversized = b"\0" * 300_000
    assert put(oversized, **{"X-Content-SHA256": hashlib.sha256(oversized).hexdigest()}).status_code == 413
    assert httpx.put(url.replace("cam1", "cam2"), content=segment,
                     headers={**auth, "X-Content-SHA256": sha}).status_code == 403  # not this token's camera
    assert httpx.put(url, content=segment, headers={"Authorization": f"Bearer {reader_token}",
                                                    "X-Content-SHA256": sha}).status_code == 403
    assert reader.cameras() == []  # nothing was stored by any refusal

    assert camera.put_layer("cam1", 0, "machine", segment, start=1000.0, frames=8, fps=10) is True
    assert camera.put_layer("cam1", 0, "machine", segment, start=1000.0, frames=8, fps=10) is False
    with pytest.raises(ServerError) as conflict:
        camera.put_layer("cam1", 0, "machine", segment_bytes(8, seed=3), start=1000.0, frames=8, fps=10)
    assert conflict.value.status == 409
    camera.put_detections("cam1", 0, [{"frame": 2, "time": 1000.2, "class": "person", "score": 0.91,
                                       "box": [1, 2, 30, 40]},
                                      {"frame": 3, "time": 1000.3, "class": "skis", "score": 0.31,
                                       "box": [5, 5, 9, 9]}])
    assert reader.layer("cam1", 0, "machine") == segment
    (listed,) = reader.segments("cam1")
    assert (listed["frames"], listed["layers"]["machine"]["bytes"], listed["detections"]) == (
        8, len(segment), 2)
    (hit,) = reader.search("person")
    assert (hit["camera"], hit["seq"], hit["times"]) == ("cam1", 0, [1000.2])
    assert reader.search("person", start=2000.0) == []
    # search answers what the machine would report: unsure detections only when asked for
    assert reader.search("skis") == [] and len(reader.search("skis", min_score=0.25)) == 1
    drawn = httpx.get(f"{running.url}/api/cameras/cam1/segments/0/detections",
                      headers={"Authorization": f"Bearer {reader_token}"}, timeout=60).json()
    assert [d["class"] for d in drawn] == ["person"]  # the viewer draws what the machine reports
    with pytest.raises(ServerError) as forbidden:
        camera.search("person")  # camera tokens see only their own camera
    assert forbidden.value.status == 403
    assert [listed["seq"] for listed in camera.segments("cam1")] == [0]  # and list it
    for path in ("0/machine", "0/detections", "0/view.mp4"):  # but read no footage
        response = httpx.get(f"{running.url}/api/cameras/cam1/segments/{path}",
                             headers={"Authorization": f"Bearer {camera_token}"}, timeout=60)
        assert response.status_code == 403 and "reader token" in response.json()["error"], path
    view = httpx.get(f"{running.url}/api/cameras/cam1/segments/0/view.mp4",
                     headers={"Authorization": f"Bearer {reader_token}"}, timeout=60)
    assert view.status_code == 200 and view.headers["content-type"] == "video/mp4"
    assert b"avc1" in view.content[:4096]  # an H.264 rendition for browsers
    with pytest.raises(ServerError) as missing:
        reader.layer("cam1", 5, "machine")
    assert missing.value.status == 404


def test_bad_query_values_are_400(service: tuple[Service, str, str]) -> None:
    running, _, reader_token = service
    headers = {"Authorization": f"Bearer {reader_token}"}
    for path in ("/api/search", "/api/search?class=person&from=yesterday",
                 "/api/cameras/cam1/segments/x/machine", "/api/cameras/cam1/segments/0/view.mp4?kind=4k"):
        assert httpx.get(running.url + path, headers=headers).status_code == 400, path


def test_serve_refuses_a_bad_data_folder(tmp_path: Path) -> None:
    import subprocess

    from tests.live_service import VCM

    (tmp_path / "file").write_text("x")
    result = subprocess.run([*VCM, "serve", "--data", str(tmp_path / "file")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "is a file" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_revoked_token_is_refused_at_once(tmp_path: Path) -> None:
    import subprocess

    from tests.live_service import VCM

    data = tmp_path / "data"
    camera = create_token(data, "cam9")
    with Service(data) as running:
        assert Client(running.url, camera).put_layer("cam9", 0, "machine", segment_bytes(4), start=1.0,
                                                     frames=4, fps=10)
        revoked = subprocess.run([*VCM, "token", "revoke", "cam9", "--data", str(data)], capture_output=True,
                                 text=True, timeout=60)
        assert revoked.returncode == 0 and "revoked 1 camera token" in revoked.stdout
        with pytest.raises(ServerError) as refused:
            Client(running.url, camera).put_layer("cam9", 1, "machine", segment_bytes(4), start=2.0, frames=4,
                                                         fps=10)
        assert refused.value.status == 401
    again = subprocess.run([*VCM, "token", "revoke", "cam9", "--data", str(data)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1 and "no token belongs to 'cam9'" in again.stderr


def test_non_finite_and_out_of_range_values_are_refused_and_readers_keep_working(
        service: tuple[Service, str, str], segment: bytes) -> None:
    running, camera_token, reader_token = service
    camera = {"Authorization": f"Bearer {camera_token}"}
    reader = {"Authorization": f"Bearer {reader_token}"}
    sha = hashlib.sha256(segment).hexdigest()
    base = f"{running.url}/api/cameras/cam1/segments"
    for start in ("inf", "1e400", "nan", "-inf", "-5", "9e12"):
        response = httpx.put(f"{base}/7/machine", content=segment, timeout=60,
                             headers={**camera, "X-Content-SHA256": sha, "X-Segment-Start": start})
        assert response.status_code == 400 and "X-Segment-Start" in response.json()["error"], start
    for seq in ("%C2%B2", "%E2%91%A0", "%D9%A1", "%EF%BC%91", "1" * 13):  # ², ①, Arabic-Indic 1, full-width 1
        response = httpx.put(f"{base}/{seq}/machine", content=segment, timeout=60,
                             headers={**camera, "X-Content-SHA256": sha, "X-Segment-Start": "1.0"})
        assert response.status_code == 400 and "segment number" in response.json()["error"], seq
    stored = httpx.put(f"{base}/7/machine", content=segment, timeout=60,
                       headers={**camera, "X-Content-SHA256": sha, "X-Segment-Start": "5000",
                                "X-Segment-Frames": "8", "X-Segment-Fps": "10"})
    assert stored.status_code == 201
    good = {"frame": 1, "time": 5000.1, "class": "person", "score": 0.9, "box": [1, 2, 3, 4]}
    for bad in ('[{"frame": 1, "time": Infinity, "class": "person", "score": 0.9, "box": [1, 2, 3, 4]}]',
                '[{"frame": 1, "time": 5000.1, "class": "person", "score": NaN, "box": [1, 2, 3, 4]}]',
                '[{"frame": 1e30, "time": 5000.1, "class": "person", "score": 0.9, "box": [1, 2, 3, 4]}]',
                '[{"frame": 1180591620717411303424, "time": 5000.1, "class": "person", "score": 0.9, '
                '"box": [1, 2, 3, 4]}]',
                '[{"frame": 1, "time": 5000.1, "class": "person", "score": 0.9, "box": [1, 2, 1e999, 4]}]',
                "[" * 100_000 + "]" * 100_000):
        response = httpx.put(f"{base}/7/detections", content=bad.encode(), headers=camera, timeout=60)
        assert response.status_code == 400, (bad[:80], response.text)
    assert httpx.put(f"{base}/7/detections", json=[good], headers=camera, timeout=60).status_code == 200
    for query in ("/api/search?class=person&min_score=nan", "/api/search?class=person&from=inf",
                  "/api/search?class=person&to=1e400", "/api/cameras/cam1/segments?from=nan",
                  "/api/cameras/cam1/segments/7/detections?min_score=2"):
        assert httpx.get(running.url + query, headers=reader, timeout=60).status_code == 400, query
    for listing in ("/api/cameras", "/api/cameras/cam1/segments", "/api/search?class=person"):
        response = httpx.get(running.url + listing, headers=reader, timeout=60)
        assert response.status_code == 200, (listing, response.text)
    (hit,) = [hit for hit in Client(running.url, reader_token).search("person") if hit["seq"] == 7]
    assert hit["times"] == [5000.1]


def test_a_reader_deletes_a_segment_and_a_camera_token_cannot(service: tuple[Service, str, str]) -> None:
    running, camera_token, reader_token = service
    body = segment_bytes(4, seed=11)
    assert Client(running.url, camera_token).put_layer("cam1", 9, "machine", body, start=9000.0, frames=4,
                                                       fps=10)
    url = f"{running.url}/api/cameras/cam1/segments/9"
    refused = httpx.delete(url, headers={"Authorization": f"Bearer {camera_token}"}, timeout=60)
    assert refused.status_code == 403
    deleted = httpx.delete(url, headers={"Authorization": f"Bearer {reader_token}"}, timeout=60)
    assert deleted.status_code == 200 and deleted.json()["objects"] == 1
    reader = Client(running.url, reader_token)
    assert 9 not in [listed["seq"] for listed in reader.segments("cam1")]
    with pytest.raises(ServerError) as missing:
        reader.layer("cam1", 9, "machine")
    assert missing.value.status == 404
    again = httpx.delete(url, headers={"Authorization": f"Bearer {reader_token}"}, timeout=60)
    assert again.status_code == 404


def test_a_reader_stores_a_reanalysis_beside_the_edge_detections(service: tuple[Service, str, str]) -> None:
    running, camera_token, reader_token = service
    camera, reader = Client(running.url, camera_token), Client(running.url, reader_token)
    assert camera.put_layer("cam1", 12, "machine", segment_bytes(4, seed=12), start=12000.0, frames=4, fps=10)
    person = {"frame": 0, "time": 12000.0, "class": "person", "score": 0.9, "box": [1, 2, 30, 40]}
    car = {**person, "frame": 1, "time": 12000.1, "class": "car", "score": 0.8}
    camera.put_detections("cam1", 12, [person])
    assert reader.put_analysis("cam1", 12, "yolo-night", [person, car]) == 2
    assert reader.put_analysis("cam1", 12, "yolo-night", [car]) == 1  # a rerun replaces its list
    base = f"{running.url}/api/cameras/cam1/segments/12"
    as_reader = {"Authorization": f"Bearer {reader_token}"}
    assert httpx.get(f"{base}/analyses", headers=as_reader, timeout=30).json() == {
        "sources": ["edge", "yolo-night"]}
    def classes(path: str) -> list[str]:
        return [d["class"] for d in httpx.get(f"{base}/{path}", headers=as_reader, timeout=30).json()]

    assert classes("analyses/yolo-night") == ["car"] and classes("detections") == ["person"]
    cars = reader.search("car", "cam1")
    assert [(hit["seq"], hit["source"]) for hit in cars] == [(12, "yolo-night")]
    assert reader.search("car", "cam1", source="edge") == []
    assert [hit["source"] for hit in reader.search("person", "cam1", start=11999, end=12001)] == ["edge"]
    listed = next(item for item in reader.segments("cam1") if item["seq"] == 12)
    assert listed["detections"] == 1  # the segment's count stays the camera's

    def put(token: str, path: str, body: object) -> httpx.Response:
        return httpx.put(f"{base}/{path}", json=body, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)

    assert put(camera_token, "analyses/mine", [car]).status_code == 403  # cameras report once, as the edge
    assert put(reader_token, "analyses/edge", [car]).status_code == 400  # the camera's own list
    assert put(reader_token, "analyses/bad%20name", [car]).status_code == 400
    assert put(reader_token, "analyses/" + "x" * 65, [car]).status_code == 400
    assert put(reader_token, "analyses/yolo", {"class": "car"}).status_code == 400
    assert put(reader_token, "analyses/yolo", [{**car, "score": 2}]).status_code == 400
    missing = httpx.put(f"{running.url}/api/cameras/cam1/segments/99/analyses/yolo", json=[car],
                        headers=as_reader, timeout=30)
    assert missing.status_code == 404
    assert httpx.get(f"{base}/analyses", headers=as_reader, timeout=30).json()["sources"] == [
        "edge", "yolo-night"]


def test_a_reader_exports_a_time_range_as_one_mp4(service: tuple[Service, str, str], tmp_path: Path) -> None:
    from vcm.codec import decode

    running, camera_token, reader_token = service
    camera = Client(running.url, camera_token)
    for seq, frames in ((40, 8), (41, 6)):
        assert camera.put_layer("cam1", seq, "machine", segment_bytes(frames, seed=seq),
                                start=40000.0 + (seq - 40), frames=frames, fps=10)
    url = f"{running.url}/api/cameras/cam1/export.mp4"
    as_reader = {"Authorization": f"Bearer {reader_token}"}
    answer = httpx.get(url, params={"from": 39999, "to": 40002}, headers=as_reader, timeout=60)
    assert answer.status_code == 200 and answer.headers["X-Export-Segments"] == "2"
    assert "attachment" in answer.headers["content-disposition"]
    (tmp_path / "range.mp4").write_bytes(answer.content)
    assert len(decode(tmp_path / "range.mp4", keep_frames=False).frames) == 14  # both segments, every frame
    one = httpx.get(url, params={"from": 40001.5, "to": 40002}, headers=as_reader, timeout=60)
    assert one.status_code == 200 and one.headers["X-Export-Segments"] == "1"
    empty = httpx.get(url, params={"from": 50000, "to": 50001}, headers=as_reader, timeout=60)
    assert empty.status_code == 404 and "no stored segments" in empty.json()["error"]
    refused = httpx.get(url, headers={"Authorization": f"Bearer {camera_token}"}, timeout=60)
    assert refused.status_code == 403
    assert not list((running.data / "exports").glob("*.mp4"))  # each file removed once sent


def test_identical_requests_at_once_all_succeed(service: tuple[Service, str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    running, camera_token, reader_token = service
    body = segment_bytes(32, seed=21)
    sha = hashlib.sha256(body).hexdigest()
    url = f"{running.url}/api/cameras/cam1/segments/21"
    headers = {"Authorization": f"Bearer {camera_token}", "X-Content-SHA256": sha, "X-Segment-Start": "21000",
               "X-Segment-Frames": "32", "X-Segment-Fps": "10"}
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: httpx.put(f"{url}/machine", content=body, headers=headers,
                                                       timeout=120).status_code, range(8)))
    assert statuses == [200] * 7 + [201]
    reader = {"Authorization": f"Bearer {reader_token}"}
    with ThreadPoolExecutor(6) as pool:
        views = list(pool.map(lambda _: httpx.get(f"{url}/view.mp4", headers=reader, timeout=120), range(6)))
    assert [view.status_code for view in views] == [200] * 6
    assert len({view.content for view in views}) == 1
    assert Client(running.url, reader_token).layer("cam1", 21, "machine") == body


def test_idle_half_sent_and_stalled_requests_are_cut_off(tmp_path: Path) -> None:
    import socket
    import time

    data = tmp_path / "data"
    camera_token = create_token(data, "cam1")
    with Service(data, "--request-timeout", "2") as running:
        host, port = "127.0.0.1", int(running.url.rsplit(":", 1)[1])

        def closed_within(seconds: float, sent: bytes) -> tuple[bool, bytes]:
            """(whether the server closed the connection within `seconds`, what it answered)."""
            with socket.create_connection((host, port), timeout=seconds) as connection:
                connection.sendall(sent)
                answer, started = b"", time.monotonic()
                try:
                    while time.monotonic() - started < seconds:
                        piece = connection.recv(4096)
                        if not piece:
                            return True, answer
                        answer += piece
                except TimeoutError:
                    return False, answer
            return False, answer

        assert closed_within(10, b"") == (True, b"")  # connected, sent nothing
        assert closed_within(10, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") == (True, b"")  # half the headers
        declared = (f"PUT /api/cameras/cam1/segments/0/machine HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {camera_token}\r\nX-Content-SHA256: {'0' * 64}\r\n"
                    f"X-Segment-Start: 1\r\nContent-Length: {60 << 20}\r\n\r\nabcd").encode()
        _, answer = closed_within(10, declared)  # 60 MiB declared, 4 bytes sent
        assert answer.startswith(b"HTTP/1.1 408") and b"stopped arriving" in answer
        kept = httpx.get(running.url + "/healthz", timeout=10)  # the server still answers
        assert kept.status_code == 200


def test_metrics_for_monitoring(service: tuple[Service, str, str]) -> None:
    running, camera_token, reader_token = service
    body = segment_bytes(4, seed=31)
    camera = Client(running.url, camera_token)
    assert camera.put_layer("cam1", 31, "machine", body, start=31000.0, frames=4, fps=10)
    with pytest.raises(ServerError):
        camera.put_layer("cam1", 32, "machine", body, start=31000.4, frames=5, fps=10)  # a wrong frame count
    refused = httpx.get(f"{running.url}/metrics", headers={"Authorization": f"Bearer {camera_token}"})
    assert refused.status_code == 403
    answer = httpx.get(f"{running.url}/metrics", headers={"Authorization": f"Bearer {reader_token}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    values = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    segments = len(Client(running.url, reader_token).segments("cam1"))
    assert values['vcm_segments{camera="cam1"}'] == segments
    assert values['vcm_stored_bytes{camera="cam1",tier="hot"}'] >= len(body)
    assert values["vcm_rejected_uploads_total"] >= 1 and values["vcm_upload_seconds_count"] >= 2
    assert values['vcm_upload_seconds_bucket{le="+Inf"}'] == values["vcm_upload_seconds_count"]
    assert values['vcm_camera_lag_seconds{camera="cam1"}'] > 0
    assert values['vcm_requests_total{method="PUT",endpoint="/api/cameras/{camera}/segments/{seq}/{layer}",'
                  'status="422"}'] >= 1


def test_long_listings_come_in_pages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    camera_token, reader_token = create_token(data, "cam1"), create_token(data, "ops", "reader")
    body = segment_bytes(4, seed=41)
    with Service(data) as running:
        camera = Client(running.url, camera_token)
        for seq in range(5):
            assert camera.put_layer("cam1", seq, "machine", body, start=7000.0 + 0.4 * seq, frames=4, fps=10)
        headers = {"Authorization": f"Bearer {reader_token}"}
        listing = f"{running.url}/api/cameras/cam1/segments"
        first = httpx.get(f"{listing}?limit=2", headers=headers, timeout=60)
        assert [s["seq"] for s in first.json()] == [0, 1]
        assert float(first.headers["x-next-from"]) == pytest.approx(7000.8)
        following = first.headers["x-next-from"]
        rest = httpx.get(f"{listing}?limit=2&from={following}", headers=headers, timeout=60)
        assert [s["seq"] for s in rest.json()] == [2, 3]
        assert [s["seq"] for s in Client(running.url, reader_token).segments("cam1")] == [0, 1, 2, 3, 4]
        for bad in ("0", "-1", "10001", "x"):
            answer = httpx.get(f"{listing}?limit={bad}", headers=headers, timeout=60)
            assert answer.status_code == 400, bad
