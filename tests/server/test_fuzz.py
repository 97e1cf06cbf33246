"""Generated and malformed requests against a live `vcm serve`: never a 500, nothing stored on
a refusal, every listing still answers afterwards; and the OpenAPI description matches the app."""

from pathlib import Path

import httpx
import pytest

from tests.live_service import Service, create_token, segment_bytes
from tests.server.fuzz import PINNED, fuzz
from vcm.api.client import Client
from vcm.cloud.system import open_system
from vcm.server.app import build_app
from vcm.server.openapi import OPENAPI

EXAMPLES = 12  # per operation, mode and path: about 500 requests


def test_the_description_names_every_route_of_the_app(tmp_path: Path) -> None:
    from starlette.routing import Route

    app = build_app(open_system(tmp_path / "data"))
    routes = {(method.lower(), route.path) for route in app.routes if isinstance(route, Route)
              for method in (route.methods or set()) - {"HEAD"}}
    described = {(method, path) for path, operations in OPENAPI["paths"].items() for method in operations}
    assert routes - {("get", "/")} == described  # the viewer page is not part of the API


@pytest.mark.system
def test_generated_requests_never_get_a_500_and_refusals_store_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    camera, reader = create_token(data, PINNED["camera"]), create_token(data, "ops", "reader")
    with Service(data) as service:
        assert Client(service.url, camera).put_layer(PINNED["camera"], int(PINNED["seq"]), "machine",
                                                     segment_bytes(4), start=1000.0, frames=4, fps=10)
        result = fuzz(service.url, data, camera, reader, EXAMPLES)
        assert result.requests >= 400, result.to_dict()
        assert result.server_errors == [], result.server_errors
        assert result.stored_on_refusal == [], result.stored_on_refusal
        assert len([s for s in result.statuses if 400 <= s < 500]) >= 3  # refusals of several kinds
        headers = {"Authorization": f"Bearer {reader}"}
        for listing in ("/api/cameras", f"/api/cameras/{PINNED['camera']}/segments",
                        "/api/search?class=person"):
            assert httpx.get(service.url + listing, headers=headers, timeout=60).status_code == 200, listing
    assert "Traceback" not in service.log.read_text()
