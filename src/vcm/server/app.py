"""The HTTP API (Starlette on uvicorn).

Open: GET /healthz, GET /openapi.json (this API described, vcm.server.openapi), the viewer
page GET / and its static files. Everything under /api
needs `Authorization: Bearer TOKEN`: camera tokens upload and list their own camera's
segments (detections once per segment; they read no footage), reader tokens list, search,
download, view and delete everything.

    GET  /api/whoami                                      the token's name and role
    GET  /metrics                                         Prometheus text (reader tokens)
    GET  /api/cameras                                     per camera: segments, frames, bytes per tier
    GET  /api/cameras/{camera}/segments?from=T0&to=T1&limit=N   segments with their layers
                                                          (at most 10,000; X-Next-From pages on)
    PUT  /api/cameras/{camera}/segments/{seq}/machine     body: MP4; X-Content-SHA256, X-Segment-Start
    PUT  /api/cameras/{camera}/segments/{seq}/restoration body: layer; X-Content-SHA256
    PUT  /api/cameras/{camera}/segments/{seq}/detections  body: JSON list of detections
    GET  /api/cameras/{camera}/segments/{seq}/{layer}     the stored object (machine, restoration)
    GET  /api/cameras/{camera}/segments/{seq}/detections  the edge detections (min_score as search)
    GET  /api/cameras/{camera}/export.mp4?from=T0&to=T1   the machine streams of a range in one MP4
    GET  /api/cameras/{camera}/segments/{seq}/analyses    who found anything in it: edge, re-analyses
    PUT  /api/cameras/{camera}/segments/{seq}/analyses/{source}  body: JSON list of detections a
                                                          re-analysis found (reader tokens; replaces)
    GET  /api/cameras/{camera}/segments/{seq}/analyses/{source}  those detections (min_score)
    GET  /api/cameras/{camera}/segments/{seq}/view.mp4?kind=machine|restored   H.264 for browsers
    DELETE /api/cameras/{camera}/segments/{seq}           delete a segment (reader tokens only)
    GET  /api/search?class=person&camera=&from=&to=&min_score=&source=  matching segments and
                                                          times, per source (edge or a re-analysis);
                                                          min_score default: the operating score, 0.7
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vcm.api.contract import (
    CONTENT_SHA256,
    LAYERS,
    MACHINE,
    MAX_FPS,
    MAX_FRAME,
    NEXT_FROM,
    SEGMENT_FPS,
    SEGMENT_FRAMES,
    SEGMENT_START,
    TIER,
    check_name,
    check_source,
    epoch_seconds,
    finite,
    sequence_number,
    whole,
)
from vcm.cloud.catalog import Principal
from vcm.cloud.ingest import Refused, Upload, store, store_analysis, store_detections
from vcm.cloud.maintenance import delete_segments
from vcm.cloud.system import System
from vcm.errors import InputError, OutputError
from vcm.server.export import EXPORT_SEGMENTS, export_machine
from vcm.server.metrics import Metrics
from vcm.server.openapi import OPENAPI
from vcm.server.renditions import rendition
from vcm.tasks import DETECT_MIN_SCORE

VIEWER = Path(__file__).parent / "viewer"
MAX_LISTING = 10_000  # segments in one listing; a longer range is paged (NEXT_FROM)
SECURITY_HEADERS = [  # on every response: the viewer loads only its own files, in no frame
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; "
     b"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; "
     b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger("vcm.server")
Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def _time(request: Request, name: str) -> float | None:
    """Query parameter `name` as a stored time (epoch seconds), None when absent; InputError
    (400) when it is not one."""
    value = request.query_params.get(name)
    return None if value in (None, "") else epoch_seconds(value, name)


def _min_score(request: Request) -> float:
    """Query parameter min_score in 0..1; default: what the machine would report."""
    value = request.query_params.get("min_score")
    return DETECT_MIN_SCORE if value in (None, "") else finite(value, "min_score", 0.0, 1.0)


class SecurityHeaders:
    """ASGI middleware: SECURITY_HEADERS on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                message["headers"] = [*(h for h in message.get("headers", []) if h[0].lower() not in names),
                                      *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def build_app(system: System, *, max_upload: int = 64 << 20, request_timeout: float = 30.0) -> Starlette:
    """The ASGI app serving `system`; bodies above `max_upload` bytes are refused (413), bodies
    that stop arriving for `request_timeout` seconds too (408)."""
    catalog = system.catalog

    async def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "missing bearer token")
        found = await run_in_threadpool(catalog.principal, token.strip())
        if found is None:
            raise Refused(401, "invalid or expired token")
        return found

    metrics = Metrics()

    def guarded(*, upload: bool = False, footage: bool = False
                ) -> Callable[[Callable[..., Awaitable[Response]]], Handler]:
        """Wrap a handler: authenticate, check the camera in the path and the role (upload: camera
        tokens only; footage: reader tokens only), map refusals to statuses."""
        def wrap(handler: Callable[..., Awaitable[Response]]) -> Handler:
            async def endpoint(request: Request) -> Response:
                started = time.perf_counter()
                response = await answer(request)
                route = getattr(request.scope.get("route"), "path", request.url.path)
                metrics.answered(request.method, route, response.status_code, time.perf_counter() - started,
                                 upload and route.endswith("{layer}"))
                return response

            async def answer(request: Request) -> Response:
                try:
                    who = await principal(request)
                    camera = request.path_params.get("camera")
                    if camera is not None:
                        check_name(camera)
                    if upload and who.role != "camera":
                        raise Refused(403, "only camera tokens upload")
                    if footage and who.role != "reader":
                        raise Refused(403, "camera tokens upload and list; reading footage needs a "
                                      "reader token")
                    if who.role == "camera" and camera is not None and camera != who.name:
                        raise Refused(403, f"this token belongs to camera {who.name}, not {camera}")
                    if who.role == "camera" and camera is None and not upload:
                        raise Refused(403, "camera tokens only see their own camera")
                    return await handler(request, who)
                except Refused as refused:
                    if refused.status >= 400 and upload:
                        log.info("refused %s %s: %s %s", request.method, request.url.path, refused.status,
                                 refused.reason)
                    return _error(refused.status, refused.reason)
                except InputError as error:
                    return _error(400, str(error))
                except OutputError as error:
                    log.error("%s %s: %s", request.method, request.url.path, error)
                    return _error(507, str(error))
            return endpoint
        return wrap

    async def body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > max_upload:
            raise Refused(413, f"the body is {int(length)} bytes; the limit is {max_upload}")
        chunks, size = [], 0
        stream = request.stream()
        while True:
            try:
                async with asyncio.timeout(request_timeout):
                    chunk = await anext(stream)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise Refused(408, f"the body stopped arriving for {request_timeout:g} s") from None
            size += len(chunk)
            if size > max_upload:
                raise Refused(413, f"the body exceeds the limit of {max_upload} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def seq_of(request: Request) -> int:
        return sequence_number(request.path_params["seq"])

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def viewer(_: Request) -> Response:
        return FileResponse(VIEWER / "index.html")

    async def openapi(_: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def whoami(request: Request) -> Response:
        try:
            who = await principal(request)
        except Refused as refused:
            return _error(refused.status, refused.reason)
        return JSONResponse({"name": who.name, "role": who.role})

    @guarded(footage=True)
    async def metrics_text(_: Request, __: Principal) -> Response:
        cameras = await run_in_threadpool(catalog.cameras)
        return PlainTextResponse(metrics.render(cameras), media_type="text/plain; version=0.0.4")

    @guarded()
    async def cameras(_: Request, __: Principal) -> Response:
        return JSONResponse(await run_in_threadpool(catalog.cameras))

    @guarded()
    async def segments(request: Request, _: Principal) -> Response:
        camera = request.path_params["camera"]
        start, end = _time(request, "from"), _time(request, "to")
        wanted = request.query_params.get("limit")
        limit = MAX_LISTING if wanted in (None, "") else whole(wanted, "limit", MAX_LISTING)
        if limit < 1:
            raise InputError("limit must be at least 1")

        def listing() -> list[dict[str, Any]]:
            found = catalog.segments(camera, start, end, limit)
            layers = catalog.layers(camera, found[0].seq, found[-1].seq) if found else {}
            return [{**segment.to_dict(),
                     "layers": {name: {"tier": item.tier, "bytes": item.bytes, "sha256": item.sha256}
                                for name, item in layers.get(segment.seq, {}).items()}}
                    for segment in found]

        page = await run_in_threadpool(listing)
        more = {NEXT_FROM: repr(page[-1]["end"])} if len(page) == limit else {}  # the next page's from
        return JSONResponse(page, headers=more)

    @guarded(upload=True)
    async def put_layer(request: Request, _: Principal) -> Response:
        layer = request.path_params["layer"]
        if layer not in LAYERS:
            raise Refused(404, f"no layer {layer!r}; layers are machine and restoration")
        start, frames, fps = (request.headers.get(name)
                              for name in (SEGMENT_START, SEGMENT_FRAMES, SEGMENT_FPS))
        upload = Upload(camera=request.path_params["camera"], seq=seq_of(request), layer=layer,
                        body=await body(request), sha256=request.headers.get(CONTENT_SHA256, ""),
                        start=None if start is None else epoch_seconds(start, SEGMENT_START),
                        frames=None if frames is None else whole(frames, SEGMENT_FRAMES, MAX_FRAME),
                        fps=None if fps is None else finite(fps, SEGMENT_FPS, 0.01, MAX_FPS))
        created = await run_in_threadpool(store, system, upload)
        return JSONResponse({"stored": created, "camera": upload.camera, "seq": upload.seq, "layer": layer},
                            status_code=201 if created else 200)

    @guarded(upload=True)
    async def put_detections(request: Request, _: Principal) -> Response:
        try:
            items = json.loads(await body(request))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(400, "detections must be JSON") from None
        except RecursionError:
            raise Refused(400, "detections are nested too deeply") from None
        created = await run_in_threadpool(store_detections, system, request.path_params["camera"],
                                          seq_of(request), items)
        return JSONResponse({"stored": created})

    @guarded(footage=True)
    async def get_layer(request: Request, _: Principal) -> Response:
        camera, seq, layer = request.path_params["camera"], seq_of(request), request.path_params["layer"]
        item = await run_in_threadpool(catalog.object, camera, seq, layer)
        if item is None:
            raise Refused(404, f"segment {seq} of {camera} has no {layer} layer")
        try:
            data = await run_in_threadpool(system.tiers[item.tier].get, item.key)
        except KeyError:
            raise Refused(503, f"the {item.tier} tier lost {item.key}; run vcm storage check") from None
        return Response(data, media_type="video/mp4" if layer == MACHINE else "application/octet-stream",
                        headers={CONTENT_SHA256: item.sha256, TIER: item.tier})

    @guarded(footage=True)
    async def get_detections(request: Request, _: Principal) -> Response:
        floor = _min_score(request)
        found = await run_in_threadpool(catalog.detections, request.path_params["camera"], seq_of(request))
        return JSONResponse([item.to_dict() for item in found if item.score >= floor])

    @guarded(footage=True)
    async def export(request: Request, _: Principal) -> Response:
        camera = request.path_params["camera"]
        start, end = _time(request, "from"), _time(request, "to")
        path, count = await run_in_threadpool(export_machine, system, camera, start, end)
        name = f"{camera}-{'start' if start is None else int(start)}-{'end' if end is None else int(end)}.mp4"
        return FileResponse(path, media_type="video/mp4", filename=name,
                            headers={EXPORT_SEGMENTS: str(count)},
                            background=BackgroundTask(path.unlink, missing_ok=True))

    @guarded(footage=True)
    async def list_analyses(request: Request, _: Principal) -> Response:
        camera, seq = request.path_params["camera"], seq_of(request)
        if await run_in_threadpool(catalog.segment, camera, seq) is None:
            raise Refused(404, f"segment {seq} of {camera} is not stored")
        return JSONResponse({"sources": await run_in_threadpool(catalog.sources, camera, seq)})

    @guarded(footage=True)
    async def put_analysis(request: Request, _: Principal) -> Response:
        source = check_source(request.path_params["source"])
        try:
            items = json.loads(await body(request))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(400, "an analysis must be JSON") from None
        except RecursionError:
            raise Refused(400, "the analysis is nested too deeply") from None
        camera, seq = request.path_params["camera"], seq_of(request)
        stored = await run_in_threadpool(store_analysis, system, camera, seq, source, items)
        return JSONResponse({"stored": stored, "source": source})

    @guarded(footage=True)
    async def get_analysis(request: Request, _: Principal) -> Response:
        floor, source = _min_score(request), check_source(request.path_params["source"])
        found = await run_in_threadpool(catalog.detections, request.path_params["camera"], seq_of(request),
                                        source)
        return JSONResponse([item.to_dict() for item in found if item.score >= floor])

    @guarded(footage=True)
    async def view(request: Request, _: Principal) -> Response:
        kind = request.query_params.get("kind", MACHINE)
        if kind not in (MACHINE, "restored"):
            raise Refused(400, f"kind must be machine or restored, got {kind!r}")
        path = await run_in_threadpool(rendition, system, request.path_params["camera"], seq_of(request),
                                       kind)
        return FileResponse(path, media_type="video/mp4")

    @guarded()
    async def delete_segment(request: Request, who: Principal) -> Response:
        if who.role != "reader":
            raise Refused(403, "only reader tokens delete")
        camera, seq = request.path_params["camera"], seq_of(request)
        removed = await run_in_threadpool(delete_segments, system, camera, seq)
        if not removed:
            raise Refused(404, f"segment {seq} of {camera} is not stored")
        return JSONResponse({"deleted": True, "camera": camera, "seq": seq, "objects": len(removed)})

    @guarded()
    async def search(request: Request, _: Principal) -> Response:
        name = request.query_params.get("class", "").strip()
        if not name:
            raise Refused(400, "search needs class=NAME")
        camera = request.query_params.get("camera") or None
        if camera is not None:
            check_name(camera)
        source = request.query_params.get("source") or None
        if source is not None:
            check_name(source)
        min_score, start, end = _min_score(request), _time(request, "from"), _time(request, "to")
        hits = await run_in_threadpool(catalog.search, name, camera, start, end, min_score, source)
        return JSONResponse(hits)

    routes = [
        Route("/healthz", healthz),
        Route("/", viewer),
        Route("/openapi.json", openapi),
        Route("/api/whoami", whoami),
        Route("/metrics", metrics_text),
        Route("/api/cameras", cameras),
        Route("/api/search", search),
        Route("/api/cameras/{camera}/segments", segments),
        Route("/api/cameras/{camera}/export.mp4", export),
        Route("/api/cameras/{camera}/segments/{seq}", delete_segment, methods=["DELETE"]),
        Route("/api/cameras/{camera}/segments/{seq}/detections", put_detections, methods=["PUT"]),
        Route("/api/cameras/{camera}/segments/{seq}/detections", get_detections, methods=["GET"]),
        Route("/api/cameras/{camera}/segments/{seq}/analyses", list_analyses),
        Route("/api/cameras/{camera}/segments/{seq}/analyses/{source}", put_analysis, methods=["PUT"]),
        Route("/api/cameras/{camera}/segments/{seq}/analyses/{source}", get_analysis, methods=["GET"]),
        Route("/api/cameras/{camera}/segments/{seq}/view.mp4", view),
        Route("/api/cameras/{camera}/segments/{seq}/{layer}", put_layer, methods=["PUT"]),
        Route("/api/cameras/{camera}/segments/{seq}/{layer}", get_layer, methods=["GET"]),
        Mount("/static", StaticFiles(directory=VIEWER), name="static"),
    ]

    async def api_not_found(request: Request, _: Exception) -> Response:
        if request.url.path.startswith("/api"):
            try:
                await principal(request)
            except Refused as refused:
                return _error(refused.status, refused.reason)
        return _error(404, f"no such endpoint: {request.method} {request.url.path}")

    async def api_bad_method(request: Request, error: Exception) -> Response:
        response = await api_not_found(request, error)
        if response.status_code == 404:
            return _error(405, f"{request.method} is not allowed on {request.url.path}")
        return response

    return Starlette(routes=routes, exception_handlers={404: api_not_found, 405: api_bad_method},
                     middleware=[Middleware(SecurityHeaders)])
