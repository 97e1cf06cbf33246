"""The OpenAPI 3.0 description of the HTTP API (served at GET /openapi.json), the one
statement of every endpoint, parameter and answer that clients and the fuzz test read."""

from typing import Any

from vcm.api.contract import (
    CONTENT_SHA256,
    EARLIEST,
    LATEST,
    LAYERS,
    MAX_COORDINATE,
    MAX_FPS,
    MAX_FRAME,
    MAX_SEQ_DIGITS,
    NAME_LENGTH,
    SEGMENT_FPS,
    SEGMENT_FRAMES,
    SEGMENT_START,
    SOURCE_LENGTH,
    TIER,
)

_NAME = {"type": "string", "minLength": 1, "maxLength": NAME_LENGTH,
         "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]*$"}
_TIME = {"type": "number", "minimum": EARLIEST, "maximum": LATEST}
_SCORE = {"type": "number", "minimum": 0, "maximum": 1}
_ERROR = {"description": "refused", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}
_REFUSALS = {str(status): _ERROR for status in (400, 401, 403, 404, 405, 408, 409, 413, 422, 503, 507)}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _header(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": schema}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {}}}}


def _operation(summary: str, answers: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None, *, open_: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "parameters": parameters or [],
                                 "responses": {**answers, **({} if open_ else _REFUSALS)}}
    if body is not None:
        operation["requestBody"] = body
    if open_:
        operation["security"] = []
    return operation


CAMERA = _path("camera", _NAME)
SOURCE = _path("source", {**_NAME, "maxLength": SOURCE_LENGTH})
SEQ = _path("seq", {"type": "string", "pattern": f"^[0-9]{{1,{MAX_SEQ_DIGITS}}}$"})
DETECTION = {"type": "object", "required": ["frame", "time", "class", "score", "box"], "properties": {
    "frame": {"type": "integer", "minimum": 0, "maximum": MAX_FRAME}, "time": _TIME,
    "class": {"type": "string", "minLength": 1, "maxLength": 64}, "score": _SCORE,
    "box": {"type": "array", "minItems": 4, "maxItems": 4,
            "items": {"type": "number", "minimum": -MAX_COORDINATE, "maximum": MAX_COORDINATE}}}}
STORED = _json("stored now (201) or already stored (200)", {"type": "object", "properties": {
    "stored": {"type": "boolean"}}})

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "vcm service", "version": "1",
             "description": "Machine streams, restoration layers and detections of a camera fleet."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/healthz": {"get": _operation("liveness", {"200": _json("ok")}, open_=True)},
        "/openapi.json": {"get": _operation("this description", {"200": _json("OpenAPI 3.0")}, open_=True)},
        "/metrics": {"get": _operation("operations metrics, Prometheus text format (reader tokens)",
                                       {"200": {"description": "metrics", "content": {"text/plain": {
                                           "schema": {"type": "string"}}}}})},
        "/api/whoami": {"get": _operation("the token's name and role", {"200": _json("name and role")})},
        "/api/cameras": {"get": _operation("per camera: segments, frames, bytes per tier",
                                           {"200": _json("cameras", {"type": "array"})})},
        "/api/search": {"get": _operation(
            "segments with detections of a class", {"200": _json("hits", {"type": "array"})},
            [_query("class", {"type": "string", "minLength": 1}, required=True), _query("camera", _NAME),
             _query("from", _TIME), _query("to", _TIME), _query("min_score", _SCORE),
             _query("source", _NAME)])},
        "/api/cameras/{camera}/segments": {"get": _operation(
            "a camera's segments overlapping [from, to)", {"200": _json("segments", {"type": "array"})},
            [CAMERA, _query("from", _TIME), _query("to", _TIME),
             _query("limit", {"type": "integer", "minimum": 1, "maximum": 10_000})])},
        "/api/cameras/{camera}/export.mp4": {"get": _operation(
            "the machine streams of the segments overlapping [from, to) in one MP4, not re-coded "
            "(reader tokens)",
            {"200": {"description": "MP4", "content": {"video/mp4": {"schema": {"type": "string",
                                                                               "format": "binary"}}}}},
            [CAMERA, _query("from", _TIME), _query("to", _TIME)])},
        "/api/cameras/{camera}/segments/{seq}": {"delete": _operation(
            "delete a segment (reader tokens)", {"200": _json("deleted")}, [CAMERA, SEQ])},
        "/api/cameras/{camera}/segments/{seq}/detections": {
            "put": _operation("the segment's edge detections, once (camera tokens)", {"200": STORED},
                              [CAMERA, SEQ], {"required": True, "content": {"application/json": {
                                  "schema": {"type": "array", "items": DETECTION}}}}),
            "get": _operation("the segment's edge detections from min_score (reader tokens)",
                              {"200": _json("detections", {"type": "array", "items": DETECTION})},
                              [CAMERA, SEQ, _query("min_score", _SCORE)])},
        "/api/cameras/{camera}/segments/{seq}/analyses": {"get": _operation(
            "who found anything in the segment: edge, then the stored re-analyses (reader tokens)",
            {"200": _json("sources", {"type": "object", "properties": {
                "sources": {"type": "array", "items": {"type": "string"}}}})}, [CAMERA, SEQ])},
        "/api/cameras/{camera}/segments/{seq}/analyses/{source}": {
            "put": _operation("what a re-analysis found in the segment; replaces its earlier list "
                              "(reader tokens)",
                              {"200": _json("stored", {"type": "object", "properties": {
                                  "stored": {"type": "integer"}, "source": {"type": "string"}}})},
                              [CAMERA, SEQ, SOURCE], {"required": True, "content": {"application/json": {
                                  "schema": {"type": "array", "items": DETECTION}}}}),
            "get": _operation("what a re-analysis found, from min_score (reader tokens)",
                              {"200": _json("detections", {"type": "array", "items": DETECTION})},
                              [CAMERA, SEQ, SOURCE, _query("min_score", _SCORE)])},
        "/api/cameras/{camera}/segments/{seq}/view.mp4": {"get": _operation(
            "an H.264 rendition for browsers (reader tokens)",
            {"200": {"description": "MP4", "content": {"video/mp4": {"schema": {"type": "string",
                                                                               "format": "binary"}}}}},
            [CAMERA, SEQ, _query("kind", {"type": "string", "enum": ["machine", "restored"]})])},
        "/api/cameras/{camera}/segments/{seq}/{layer}": {
            "put": _operation(
                "store a layer (camera tokens); a machine layer declares its start, frames and rate",
                {"200": STORED, "201": STORED},
                [CAMERA, SEQ, _path("layer", {"type": "string", "enum": list(LAYERS)}),
                 _header(CONTENT_SHA256, {"type": "string", "pattern": "^[0-9a-f]{64}$"}, required=True),
                 _header(SEGMENT_START, _TIME),
                 _header(SEGMENT_FRAMES, {"type": "integer", "minimum": 1, "maximum": MAX_FRAME}),
                 _header(SEGMENT_FPS, {"type": "number", "minimum": 0.01, "maximum": MAX_FPS})],
                {"required": True, "content": {"application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"}}}}),
            "get": _operation(
                "a stored layer (reader tokens)",
                {"200": {"description": "the object",
                         "headers": {CONTENT_SHA256: {"schema": {"type": "string"}},
                                     TIER: {"schema": {"type": "string"}}},
                         "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                             "format": "binary"}}}}},
                [CAMERA, SEQ, _path("layer", {"type": "string", "enum": list(LAYERS)})])},
    },
}
