"""The catalog: cameras, tokens, segments, stored objects, and detections (the edge's and
stored re-analyses').

One schema for SQLite (the default, one file in the data folder) and PostgreSQL
(`postgresql+psycopg://...`), written with SQLAlchemy Core. The schema version lives
in the table `schema_version`; `MIGRATIONS` holds each version's steps, applied in
order on open.
"""

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vcm.api.contract import EDGE_SOURCE, DetectionRecord, check_name
from vcm.errors import InputError, OutputError

ROLES = ("camera", "reader")
TOKEN_PREFIX = "vcm_"  # recognisable in logs and secret scanners; never starts with '-' (an option)
metadata = sa.MetaData()

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))
tokens = sa.Table(
    "tokens", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the token (the token is not kept)
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=True),  # epoch seconds after which it is refused; NULL: never
)
segments = sa.Table(
    "segments", metadata,
    sa.Column("camera", sa.String(128), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("start", sa.Float, nullable=False),  # seconds since the epoch
    sa.Column("frames", sa.Integer, nullable=False),
    sa.Column("fps", sa.Float, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("codec", sa.String(8), nullable=False),
    sa.Column("detections", sa.Integer, nullable=False),
)
objects = sa.Table(
    "objects", metadata,
    sa.Column("camera", sa.String(128), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("layer", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("tier", sa.String(8), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("stored", sa.Float, nullable=False),
)
detections = sa.Table(
    "detections", metadata,
    sa.Column("camera", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("frame", sa.Integer, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("class_name", sa.String(64), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("x0", sa.Float, nullable=False),
    sa.Column("y0", sa.Float, nullable=False),
    sa.Column("x1", sa.Float, nullable=False),
    sa.Column("y1", sa.Float, nullable=False),
    # who found it: EDGE_SOURCE (the camera's agent) or a re-analysis (its name, e.g. reanalyse-centernet)
    sa.Column("source", sa.String(64), nullable=False, server_default=EDGE_SOURCE),
    sa.Index("detections_by_class", "class_name", "time"),
    sa.Index("detections_by_segment", "camera", "seq"),
)

deletions = sa.Table(  # objects whose rows are gone and which are being deleted from their tier
    "deletions", metadata,
    sa.Column("tier", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
)


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection, tables=[tokens, segments, objects, detections])  # tokens as of v3


def _create_v2(connection: Connection) -> None:
    metadata.create_all(connection, tables=[deletions])


def _token_expiry_v3(connection: Connection) -> None:
    if "expires" not in {column["name"] for column in sa.inspect(connection).get_columns("tokens")}:
        connection.execute(sa.text("ALTER TABLE tokens ADD COLUMN expires FLOAT"))


def _detection_source_v4(connection: Connection) -> None:
    if "source" not in {column["name"] for column in sa.inspect(connection).get_columns("detections")}:
        connection.execute(sa.text(f"ALTER TABLE detections ADD COLUMN source VARCHAR(64) NOT NULL "
                                   f"DEFAULT '{EDGE_SOURCE}'"))


MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1, _create_v2, _token_expiry_v3,
                                                  _detection_source_v4]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to: a camera (uploads for itself) or a reader."""

    name: str
    role: str


@dataclass(frozen=True)
class StoredObject:
    camera: str
    seq: int
    layer: str
    key: str
    tier: str
    sha256: str
    bytes: int
    stored: float


@dataclass(frozen=True)
class Segment:
    """One GOP-long segment of a camera; start in seconds since the epoch."""

    camera: str
    seq: int
    start: float
    frames: int
    fps: float
    width: int
    height: int
    codec: str
    detections: int

    @property
    def end(self) -> float:
        return self.start + self.frames / self.fps

    def to_dict(self) -> dict[str, object]:
        return {"camera": self.camera, "seq": self.seq, "start": self.start, "end": self.end,
                "frames": self.frames, "fps": self.fps, "width": self.width, "height": self.height,
                "codec": self.codec, "detections": self.detections}


class Catalog:
    """The catalog at `url` (an SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://...)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = _engine(url)
            self._migrate()
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError):
            raise InputError(f"bad catalog URL {without_password(url)!r}: use sqlite:///PATH or "
                             "postgresql+psycopg://USER@HOST/DB") from None
        except sa.exc.OperationalError as error:
            raise InputError(f"cannot open the catalog {without_password(url)}: "
                             f"{str(error.orig).strip().splitlines()[0]}") from None

    def _migrate(self) -> None:
        with self.engine.begin() as connection:
            metadata.create_all(connection, tables=[schema_version])
            current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
            if current > len(MIGRATIONS):
                raise InputError(f"the catalog has schema version {current}; this vcm knows up to "
                                 f"{len(MIGRATIONS)}")
            for version in range(current + 1, len(MIGRATIONS) + 1):
                MIGRATIONS[version - 1](connection)
                connection.execute(schema_version.insert().values(version=version))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction, committed on leaving; OutputError (one line, nothing written)
        when the catalog cannot be written: its disk is full, it is read-only or locked."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa.exc.OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
            if "full" in reason.lower() or "no space" in reason.lower():
                reason = "the disk is full"
            raise OutputError(f"cannot write the catalog: {reason}") from None

    # tokens
    def create_token(self, name: str, role: str, expires: float | None = None) -> str:
        """A new random token for `name` with `role` (vcm_ + 256 random bits, URL-safe), refused
        after `expires` (epoch seconds; None: never); only its digest is stored."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        check_name(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._writing() as connection:
            connection.execute(tokens.insert().values(digest=token_digest(token), name=name, role=role,
                                                      created=time.time(), expires=expires))
        return token

    def rotate_token(self, name: str, role: str, grace_s: float, expires: float | None = None) -> str:
        """A new token for (name, role); the earlier ones expire `grace_s` seconds from now (0: at
        once), in the same transaction. InputError if (name, role) has no token to rotate."""
        if not self.tokens(name, role):
            raise InputError(f"no {role} token belongs to {name!r}; create one first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        with self._writing() as connection:
            earlier = tokens.c.expires.is_(None) | (tokens.c.expires > now + grace_s)
            connection.execute(tokens.update().where(tokens.c.name == name, tokens.c.role == role, earlier)
                               .values(expires=now + grace_s))
            connection.execute(tokens.insert().values(digest=token_digest(token), name=name, role=role,
                                                      created=now, expires=expires))
        return token

    def tokens(self, name: str | None = None, role: str | None = None) -> list[dict[str, Any]]:
        """Tokens as name, role, created, expires (never the token or its digest), by name."""
        query = sa.select(tokens.c.name, tokens.c.role, tokens.c.created, tokens.c.expires)
        if name is not None:
            query = query.where(tokens.c.name == name)
        if role is not None:
            query = query.where(tokens.c.role == role)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(
                query.order_by(tokens.c.name, tokens.c.role, tokens.c.created))]

    def revoke_tokens(self, name: str, role: str) -> int:
        """Delete every token of (`name`, `role`) (a stolen camera, a reader who left); returns how
        many. A camera and a reader of the same name are separate: revoking one keeps the other."""
        with self._writing() as connection:
            deleted = connection.execute(tokens.delete().where(tokens.c.name == name, tokens.c.role == role))
            return deleted.rowcount

    def principal(self, token: str, now: float | None = None) -> Principal | None:
        """Who `token` belongs to; None when unknown or expired."""
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(tokens.c.name, tokens.c.role, tokens.c.expires)
                                     .where(tokens.c.digest == token_digest(token))).first()
        if row is None or (row.expires is not None and row.expires <= now):
            return None
        return Principal(row.name, row.role)

    # segments and objects
    def add_object(self, item: StoredObject, segment: Segment | None = None) -> None:
        """Record a stored object, and with a machine layer its segment, in one transaction."""
        with self._writing() as connection:
            if segment is not None:
                connection.execute(segments.delete().where(
                    segments.c.camera == segment.camera, segments.c.seq == segment.seq))
                connection.execute(segments.insert().values(**segment.__dict__))
            connection.execute(objects.insert().values(**item.__dict__))

    def remove_segments(self, camera: str, seq: int | None = None) -> list[StoredObject]:
        """Forget segment `seq` of `camera` (every segment of it when seq is None): its row,
        detections and object rows, in one transaction that records each object it named as a
        pending deletion. Returns those objects; the caller deletes them from their tiers and
        then calls `deleted` (a crash in between leaves them pending, never orphaned)."""
        def where(table: sa.Table) -> list[sa.ColumnElement[bool]]:
            return [table.c.camera == camera] + ([table.c.seq == seq] if seq is not None else [])

        with self._writing() as connection:
            named = [StoredObject(**row._mapping) for row in connection.execute(
                sa.select(objects).where(*where(objects)))]
            pending = {(item.tier, item.key) for item in named} - set(self._pending(connection))
            if pending:
                connection.execute(deletions.insert(), [{"tier": t, "key": k} for t, k in sorted(pending)])
            connection.execute(detections.delete().where(*where(detections)))
            connection.execute(objects.delete().where(*where(objects)))
            connection.execute(segments.delete().where(*where(segments)))
        return named

    @staticmethod
    def _pending(connection: Connection) -> list[tuple[str, str]]:
        return [(row.tier, row.key) for row in connection.execute(sa.select(deletions))]

    def pending_deletions(self) -> list[tuple[str, str]]:
        """(tier, key) of objects whose rows were removed but whose deletion is not confirmed."""
        with self.engine.connect() as connection:
            return self._pending(connection)

    def deleted(self, tier: str, key: str) -> None:
        """Confirm that object `key` is gone from `tier`."""
        with self._writing() as connection:
            connection.execute(deletions.delete().where(deletions.c.tier == tier, deletions.c.key == key))

    def replace_detections(self, camera: str, seq: int, found: Sequence[DetectionRecord],
                           source: str = EDGE_SOURCE) -> None:
        """Set the detections `source` found in a recorded segment (all or nothing); the
        segment's detection count is the edge's."""
        with self._writing() as connection:
            connection.execute(detections.delete().where(
                detections.c.camera == camera, detections.c.seq == seq, detections.c.source == source))
            if found:
                connection.execute(detections.insert(), [
                    {"camera": camera, "seq": seq, "frame": d.frame, "time": d.time,
                     "class_name": d.class_name, "score": d.score, "source": source,
                     "x0": d.box[0], "y0": d.box[1], "x1": d.box[2], "y1": d.box[3]}
                    for d in found])
            if source == EDGE_SOURCE:
                connection.execute(segments.update().where(segments.c.camera == camera, segments.c.seq == seq)
                                   .values(detections=len(found)))

    def segment(self, camera: str, seq: int) -> Segment | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(segments).where(
                segments.c.camera == camera, segments.c.seq == seq)).first()
        return Segment(**row._mapping) if row else None

    def object(self, camera: str, seq: int, layer: str) -> StoredObject | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(objects).where(
                objects.c.camera == camera, objects.c.seq == seq, objects.c.layer == layer)).first()
        return StoredObject(**row._mapping) if row else None

    def objects(self) -> list[StoredObject]:
        with self.engine.connect() as connection:
            return [StoredObject(**row._mapping) for row in connection.execute(
                sa.select(objects).order_by(objects.c.camera, objects.c.seq, objects.c.layer))]

    def move_object(self, item: StoredObject, tier: str) -> None:
        with self._writing() as connection:
            connection.execute(objects.update().where(
                objects.c.camera == item.camera, objects.c.seq == item.seq, objects.c.layer == item.layer
            ).values(tier=tier))

    def cameras(self) -> list[dict[str, object]]:
        """Per camera: segments, frames, first start, last end, hot and cold bytes."""
        with self.engine.connect() as connection:
            seg_rows = connection.execute(sa.select(
                segments.c.camera, sa.func.count().label("segments"),
                sa.func.sum(segments.c.frames).label("frames"),
                sa.func.min(segments.c.start).label("first"),
                sa.func.max(segments.c.start + segments.c.frames / segments.c.fps).label("last"),
                sa.func.sum(segments.c.detections).label("detections"),
            ).group_by(segments.c.camera)).all()
            byte_rows = connection.execute(sa.select(
                objects.c.camera, objects.c.tier, sa.func.sum(objects.c.bytes).label("bytes"),
            ).group_by(objects.c.camera, objects.c.tier)).all()
        result: dict[str, dict[str, object]] = {}
        for row in seg_rows:
            result[row.camera] = {"camera": row.camera, "segments": int(row.segments),
                                  "frames": int(row.frames), "first": row.first, "last": row.last,
                                  "detections": int(row.detections or 0), "hot_bytes": 0, "cold_bytes": 0}
        for row in byte_rows:
            entry = result.setdefault(row.camera, {"camera": row.camera, "segments": 0, "frames": 0,
                                                   "first": None, "last": None, "detections": 0,
                                                   "hot_bytes": 0, "cold_bytes": 0})
            entry[f"{row.tier}_bytes"] = int(row.bytes)
        return [result[name] for name in sorted(result)]

    def segments(self, camera: str, start: float | None = None, end: float | None = None,
                 limit: int | None = None) -> list[Segment]:
        """A camera's segments overlapping [start, end) (epoch seconds), in order, the first
        `limit` of them (None: all)."""
        query = sa.select(segments).where(segments.c.camera == camera)
        if start is not None:
            query = query.where(segments.c.start + segments.c.frames / segments.c.fps > start)
        if end is not None:
            query = query.where(segments.c.start < end)
        query = query.order_by(segments.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [Segment(**row._mapping) for row in connection.execute(query)]

    def layers(self, camera: str, first: int | None = None, last: int | None = None
               ) -> dict[int, dict[str, StoredObject]]:
        """Per segment number (from `first` to `last` when given), its stored objects by layer."""
        query = sa.select(objects).where(objects.c.camera == camera)
        if first is not None:
            query = query.where(objects.c.seq >= first)
        if last is not None:
            query = query.where(objects.c.seq <= last)
        found: dict[int, dict[str, StoredObject]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                item = StoredObject(**row._mapping)
                found.setdefault(item.seq, {})[item.layer] = item
        return found

    def segment_summaries(self, min_score: float) -> list[dict[str, Any]]:
        """Every segment with what retention weighs: camera, seq, start, end, bytes per tier
        ({tier: bytes}) and the classes detected in it at `min_score` or above, by start."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(segments).order_by(segments.c.start, segments.c.camera,
                                                                    segments.c.seq)).all()
            sizes = connection.execute(sa.select(
                objects.c.camera, objects.c.seq, objects.c.tier, sa.func.sum(objects.c.bytes).label("bytes"),
            ).group_by(objects.c.camera, objects.c.seq, objects.c.tier)).all()
            found = connection.execute(
                sa.select(detections.c.camera, detections.c.seq, detections.c.class_name)
                .where(detections.c.score >= min_score).distinct()).all()
        tiers: dict[tuple[str, int], dict[str, int]] = {}
        for row in sizes:
            tiers.setdefault((row.camera, row.seq), {})[row.tier] = int(row.bytes)
        classes: dict[tuple[str, int], set[str]] = {}
        for row in found:
            classes.setdefault((row.camera, row.seq), set()).add(row.class_name)
        return [{"camera": row.camera, "seq": row.seq, "start": row.start,
                 "end": row.start + row.frames / row.fps, "bytes": tiers.get((row.camera, row.seq), {}),
                 "classes": classes.get((row.camera, row.seq), set())} for row in rows]

    def search(self, class_name: str, camera: str | None = None, start: float | None = None,
               end: float | None = None, min_score: float = 0.0,
               source: str | None = None) -> list[dict[str, object]]:
        """Segments holding detections of `class_name` (by `source`, or by any): camera, seq,
        source, first/last time, count, best score and the matching frame times, in time
        order; one hit per segment and source."""
        query = sa.select(detections.c.camera, detections.c.seq, detections.c.source, detections.c.time,
                          detections.c.score).where(detections.c.class_name == class_name,
                                                    detections.c.score >= min_score)
        if camera is not None:
            query = query.where(detections.c.camera == camera)
        if source is not None:
            query = query.where(detections.c.source == source)
        if start is not None:
            query = query.where(detections.c.time >= start)
        if end is not None:
            query = query.where(detections.c.time < end)
        grouped: dict[tuple[str, int, str], dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query.order_by(detections.c.time)):
                hit = grouped.setdefault((row.camera, row.seq, row.source), {
                    "camera": row.camera, "seq": row.seq, "source": row.source, "class": class_name,
                    "count": 0, "best_score": 0.0, "times": []})
                hit["count"] += 1
                hit["best_score"] = max(hit["best_score"], row.score)
                if not hit["times"] or hit["times"][-1] != row.time:
                    hit["times"].append(row.time)
        hits = list(grouped.values())
        for hit in hits:
            hit["first"], hit["last"] = hit["times"][0], hit["times"][-1]
        return sorted(hits, key=lambda hit: (hit["first"], hit["camera"], hit["source"] != EDGE_SOURCE))

    def detections(self, camera: str, seq: int, source: str = EDGE_SOURCE) -> list[DetectionRecord]:
        """What `source` found in a segment, by frame."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(detections).where(
                detections.c.camera == camera, detections.c.seq == seq, detections.c.source == source
            ).order_by(detections.c.frame))
            return [DetectionRecord(r.frame, r.time, r.class_name, r.score, (r.x0, r.y0, r.x1, r.y1))
                    for r in rows]

    def sources(self, camera: str, seq: int) -> list[str]:
        """Who found anything in a segment: EDGE_SOURCE and the re-analyses stored for it."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(detections.c.source).where(
                detections.c.camera == camera, detections.c.seq == seq).distinct())
            return sorted((row.source for row in rows), key=lambda name: (name != EDGE_SOURCE, name))


def without_password(url: str) -> str:
    """A catalog URL as recorded and shown: any password (scheme://user:PASSWORD@host) removed."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1@", url)


def _engine(url: str) -> Engine:
    """An engine; SQLite runs in WAL mode with full sync (durable commits, readers beside a writer)."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: object) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine
