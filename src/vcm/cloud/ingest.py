"""Storing an uploaded segment layer: check it, write it durably, record it; or refuse.

Every refusal raises `Refused` with an HTTP status and a one-line reason, before
anything is written. A layer is acknowledged only after its object is durable on its
tier and its catalog row is committed, so a crash at any point leaves either nothing,
or an object without a row (an orphan that the sender's retry completes and
`vcm storage check` reports), never a row without its object.
"""

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from vcm.api.contract import (
    FPS_TOLERANCE,
    MACHINE,
    RESTORATION,
    SEGMENT_FPS,
    SEGMENT_FRAMES,
    SEGMENT_START,
    DetectionRecord,
    check_source,
)
from vcm.cloud.catalog import Segment, StoredObject
from vcm.cloud.storage import object_key
from vcm.cloud.system import System
from vcm.errors import InputError, OutputError

CODECS = {"hevc": "hevc", "h264": "h264"}
MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML header; an MP4 has b"ftyp" at bytes 4-8
LAYER_TIER = {MACHINE: "hot", RESTORATION: "cold"}


class Refused(Exception):
    """An upload that is not stored: `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Upload:
    """One layer of one segment as sent by a camera; for the machine layer what the camera
    declares: start (epoch seconds of its first frame), frames and fps (frames per second)."""

    camera: str
    seq: int
    layer: str
    body: bytes
    sha256: str
    start: float | None = None
    frames: int | None = None
    fps: float | None = None


def _check_hash(upload: Upload) -> None:
    declared = upload.sha256.strip().lower()
    if len(declared) != 64 or any(c not in "0123456789abcdef" for c in declared):
        raise Refused(400, "X-Content-SHA256 must be 64 hex digits")
    if hashlib.sha256(upload.body).hexdigest() != declared:
        raise Refused(400, "the body does not match its X-Content-SHA256")


def _machine_segment(upload: Upload) -> Segment:
    """The segment a machine-layer body holds, or Refused(422) if it is not a decodable
    HEVC/H.264 segment in an MP4 or Matroska container with the frames and rate declared."""
    from vcm.codec.decoder import decoded_frames

    if upload.start is None or upload.frames is None or upload.fps is None:
        raise Refused(400, f"a machine layer needs {SEGMENT_START} (epoch seconds), {SEGMENT_FRAMES} and "
                      f"{SEGMENT_FPS}")
    if upload.body[4:8] != b"ftyp" and not upload.body.startswith(MATROSKA_MAGIC):
        raise Refused(422, "a machine layer must be an MP4 or Matroska file (a raw stream has no timing)")
    try:
        info, frames = decoded_frames(upload.body, keep_frames=False, read_qp=False)
        count = sum(1 for _ in frames)
    except InputError as error:
        raise Refused(422, f"not a decodable video segment: {str(error).replace('the data', 'body')}"
                      ) from None
    if info.codec not in CODECS:
        raise Refused(422, f"the segment is {info.codec}; only HEVC and H.264 are stored")
    if count != upload.frames:
        raise Refused(422, f"the segment decodes to {count} frames; {upload.frames} were declared")
    if abs(info.fps - upload.fps) > FPS_TOLERANCE * upload.fps:
        raise Refused(422, f"the segment plays at {info.fps:g} frames/s; {upload.fps:g} were declared")
    return Segment(camera=upload.camera, seq=upload.seq, start=upload.start, frames=count, fps=upload.fps,
                   width=info.width, height=info.height, codec=info.codec, detections=0)


def _check_restoration(upload: Upload, segment: Segment) -> None:
    from vcm.restoration import read_layer

    try:
        layer = read_layer(upload.body)
    except InputError as error:
        raise Refused(422, f"not a restoration layer: {error}") from None
    if (layer.frames, layer.width, layer.height) != (segment.frames, segment.width, segment.height):
        raise Refused(422, f"the restoration layer holds {layer.frames} frames of "
                      f"{layer.width}x{layer.height}; segment {segment.seq} has {segment.frames} of "
                      f"{segment.width}x{segment.height}")


def store(system: System, upload: Upload) -> bool:
    """Store `upload`; True if stored now, False if the same content was already stored."""
    _check_hash(upload)
    known = system.catalog.object(upload.camera, upload.seq, upload.layer)
    if known is not None:
        if known.sha256 == upload.sha256.lower():
            return False
        raise Refused(409, f"segment {upload.seq} of {upload.camera} already has a different "
                      f"{upload.layer} layer")
    segment: Segment | None = None
    if upload.layer == MACHINE:
        segment = _machine_segment(upload)
    else:
        recorded = system.catalog.segment(upload.camera, upload.seq)
        if recorded is None or system.catalog.object(upload.camera, upload.seq, MACHINE) is None:
            raise Refused(409, f"segment {upload.seq} of {upload.camera} has no machine layer yet; "
                          "send it first")
        _check_restoration(upload, recorded)
    tier = LAYER_TIER[upload.layer]
    sha256 = upload.sha256.lower()
    key = object_key(upload.camera, upload.seq, upload.layer, sha256)
    system.tiers[tier].put(key, upload.body)
    try:
        system.catalog.add_object(StoredObject(camera=upload.camera, seq=upload.seq, layer=upload.layer,
                                               key=key, tier=tier, sha256=sha256, bytes=len(upload.body),
                                               stored=time.time()), segment)
    except OutputError:  # the catalog cannot record it: leave nothing behind (unless a twin request did)
        if system.catalog.object(upload.camera, upload.seq, upload.layer) is None:
            system.tiers[tier].delete(key)
        raise
    except IntegrityError:  # another request (another replica) stored this layer meanwhile
        winner = system.catalog.object(upload.camera, upload.seq, upload.layer)
        if winner is not None and winner.sha256 == sha256:
            return False
        system.tiers[tier].delete(key)
        raise Refused(409, f"segment {upload.seq} of {upload.camera} already has a different "
                      f"{upload.layer} layer") from None
    return True


def _record_key(record: DetectionRecord) -> tuple[object, ...]:
    return record.frame, record.time, record.class_name, record.score, record.box


def _records(items: object) -> list[DetectionRecord]:
    """A JSON list of detections ({frame, time, class, score, box}) checked; Refused(400)
    naming what is wrong."""
    if not isinstance(items, list):
        raise Refused(400, "detections must be a JSON list")
    try:
        return [DetectionRecord.from_dict(item) for item in items]
    except InputError as error:
        raise Refused(400, str(error)) from None


def store_analysis(system: System, camera: str, seq: int, source: str, items: object) -> int:
    """Set what re-analysis `source` found in a stored segment (a JSON list as for the edge
    detections), replacing what it stored before -> the number stored; Refused(404) for a
    segment that is not stored, 400 for a bad name or record."""
    check_source(source)
    records = _records(items)
    if system.catalog.segment(camera, seq) is None:
        raise Refused(404, f"segment {seq} of {camera} is not stored")
    system.catalog.replace_detections(camera, seq, records, source=source)
    return len(records)


def store_detections(system: System, camera: str, seq: int, items: object) -> bool:
    """Set the edge detections of a stored segment once: a JSON list of {frame, time, class,
    score, box}. True if stored now, False if the same list was already stored; Refused(409)
    for a different list (a camera cannot rewrite what it reported)."""
    records = _records(items)
    if system.catalog.segment(camera, seq) is None:
        raise Refused(409, f"segment {seq} of {camera} has no machine layer yet; send it first")
    stored = system.catalog.detections(camera, seq)
    if stored:
        if sorted(map(_record_key, stored)) == sorted(map(_record_key, records)):
            return False
        raise Refused(409, f"segment {seq} of {camera} already has different detections")
    system.catalog.replace_detections(camera, seq, records)
    return True
