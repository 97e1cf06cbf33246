"""A client of the ingest service's HTTP API (what `vcm edge`, `restore` and `search` use)."""

import hashlib
from typing import Any

import httpx

from vcm.api.contract import CONTENT_SHA256, NEXT_FROM, SEGMENT_FPS, SEGMENT_FRAMES, SEGMENT_START
from vcm.errors import InputError, VcmError


class ServerError(VcmError):
    """The service refused a request or could not be reached; status is None when unreachable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Worth trying again later: unreachable, overloaded or a server-side failure."""
        return self.status is None or self.status >= 500 or self.status in (408, 429)


class Client:
    """The API at `server` (http://HOST:PORT) with a bearer `token`."""

    def __init__(self, server: str, token: str, *, timeout: float = 60.0) -> None:
        if not server.startswith(("http://", "https://")):
            raise InputError(f"--server must be an http:// or https:// URL, got {server!r}")
        if not token:
            raise InputError("a token is needed (--token or VCM_TOKEN)")
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, headers={"Authorization": f"Bearer {token}"},
                                 timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ServerError(f"cannot reach {self.server}: {error.__class__.__name__}: {error}") from None
        if response.status_code >= 400:
            try:
                reason = response.json().get("error", response.text)
            except ValueError:
                reason = response.text.strip()[:200]
            raise ServerError(f"{self.server} answered {response.status_code} to {method} {path}: {reason}",
                              response.status_code)
        return response

    def put_layer(self, camera: str, seq: int, layer: str, data: bytes, start: float | None = None,
                  frames: int | None = None, fps: float | None = None) -> bool:
        """Upload one layer (a machine layer with its start in epoch seconds, frame count and
        rate); True if the server stored it now, False if it already had it."""
        headers = {CONTENT_SHA256: hashlib.sha256(data).hexdigest(),
                   "Content-Type": "application/octet-stream"}
        for name, value in ((SEGMENT_START, start), (SEGMENT_FRAMES, frames), (SEGMENT_FPS, fps)):
            if value is not None:
                headers[name] = repr(value)
        response = self._request("PUT", f"/api/cameras/{camera}/segments/{seq}/{layer}", content=data,
                                 headers=headers)
        return response.status_code == 201

    def put_detections(self, camera: str, seq: int, items: list[dict[str, object]]) -> None:
        self._request("PUT", f"/api/cameras/{camera}/segments/{seq}/detections", json=items)

    def put_analysis(self, camera: str, seq: int, source: str, items: list[dict[str, object]]) -> int:
        """Store what re-analysis `source` found in a segment (replacing its earlier list) -> how
        many detections the service stored."""
        response = self._request("PUT", f"/api/cameras/{camera}/segments/{seq}/analyses/{source}", json=items)
        return int(response.json()["stored"])

    def whoami(self) -> dict[str, str]:
        """The name and role of this client's token."""
        return self._request("GET", "/api/whoami").json()

    def cameras(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/cameras").json()

    def segments(self, camera: str, start: float | None = None,
                 end: float | None = None) -> list[dict[str, Any]]:
        """Every segment of `camera` overlapping [start, end), following the service's pages."""
        found: list[dict[str, Any]] = []
        while True:
            params = {key: value for key, value in (("from", start), ("to", end)) if value is not None}
            response = self._request("GET", f"/api/cameras/{camera}/segments", params=params)
            page = response.json()
            found += [item for item in page if not found or item["seq"] > found[-1]["seq"]]
            following = response.headers.get(NEXT_FROM)
            if following is None or not page or (start is not None and float(following) <= start):
                return found
            start = float(following)

    def layer(self, camera: str, seq: int, layer: str) -> bytes:
        """A stored layer, checked against the SHA-256 the server recorded."""
        response = self._request("GET", f"/api/cameras/{camera}/segments/{seq}/{layer}")
        expected = response.headers.get(CONTENT_SHA256)
        if expected and hashlib.sha256(response.content).hexdigest() != expected:
            raise ServerError(f"segment {seq} of {camera}: the {layer} layer arrived damaged (hash mismatch)")
        return response.content

    def search(self, class_name: str, camera: str | None = None, start: float | None = None,
               end: float | None = None, min_score: float | None = None,
               source: str | None = None) -> list[dict[str, Any]]:
        """Segments with detections of `class_name`, one hit per segment and source (the edge's
        or a stored re-analysis; `source` keeps one)."""
        params: dict[str, Any] = {"class": class_name}
        for key, value in (("camera", camera), ("from", start), ("to", end), ("min_score", min_score),
                           ("source", source)):
            if value is not None:
                params[key] = value
        return self._request("GET", "/api/search", params=params).json()
