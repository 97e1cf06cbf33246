"""Storage tiers: where segment objects live. `hot` holds machine streams for analysis,
`cold` the restoration layers (and machine streams moved by the tiering policy).

Local folders by default (DIR/hot, DIR/cold; a write is durable when it returns:
temporary file, fsync, rename, fsync of the folder), or an S3-compatible store
(`s3://BUCKET[/PREFIX]`, tiers as the prefixes PREFIX/hot and PREFIX/cold; a write is
durable when the PUT completed). The endpoint comes from `?endpoint=URL` or the
environment (AWS_ENDPOINT_URL), credentials from the usual AWS variables.
"""

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from vcm.api.contract import MACHINE
from vcm.atomic import write_durably
from vcm.errors import InputError, OutputError

TIERS = ("hot", "cold")


class Tier(Protocol):
    """One storage tier: objects by key ('camera/00000001.machine.mp4')."""

    name: str

    def put(self, key: str, data: bytes) -> None:
        """Store `data` at `key`; when this returns the object is durable."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def listing(self) -> Iterator[tuple[str, int]]:
        """Every stored key and its size in bytes."""
        ...


class LocalTier:
    """A tier in a local folder."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(path, data, f"{key} on the {self.name} tier")

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def listing(self) -> Iterator[tuple[str, int]]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix(), path.stat().st_size


class S3Tier:
    """A tier as a prefix of an S3 bucket (boto3)."""

    def __init__(self, name: str, client: object, bucket: str, prefix: str) -> None:
        self.name, self.client, self.bucket, self.prefix = name, client, bucket, prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def put(self, key: str, data: bytes) -> None:
        checksum = hashlib.md5(data, usedforsecurity=False).digest()
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,  # type: ignore[attr-defined]
                                   ContentMD5=base64.b64encode(checksum).decode())
        except Exception as error:  # botocore raises many types; all mean "not stored"
            raise OutputError(f"cannot store {key} on the {self.name} tier (s3://{self.bucket}): "
                              f"{str(error).splitlines()[0]}") from None

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))  # type: ignore[attr-defined]
        except self.client.exceptions.NoSuchKey:  # type: ignore[attr-defined]
            raise KeyError(key) from None
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))  # type: ignore[attr-defined]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))  # type: ignore[attr-defined]

    def listing(self) -> Iterator[tuple[str, int]]:
        paginator = self.client.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):], int(item["Size"])


def open_tiers(url: str) -> dict[str, Tier]:
    """The hot and cold tiers of the storage at `url` (a folder path, file://PATH or s3://...)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        root = Path(parsed.path if parsed.scheme else url)
        return {name: LocalTier(name, root / name) for name in TIERS}
    if parsed.scheme != "s3":
        raise InputError(f"bad storage URL {url!r}: use a folder, file://PATH or s3://BUCKET[/PREFIX]")
    if not parsed.netloc:
        raise InputError(f"bad storage URL {url!r}: no bucket")
    import boto3
    from botocore.config import Config

    endpoint = parse_qs(parsed.query).get("endpoint", [None])[0] or os.environ.get("AWS_ENDPOINT_URL")
    client = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"),
                          config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                        connect_timeout=5, read_timeout=30))
    prefix = parsed.path.strip("/")
    try:
        client.head_bucket(Bucket=parsed.netloc)
    except Exception as error:
        raise InputError(f"cannot reach the bucket {parsed.netloc!r} at {endpoint or 'the AWS default'}: "
                         f"{str(error).splitlines()[0]}") from None
    return {name: S3Tier(name, client, parsed.netloc, f"{prefix}/{name}/" if prefix else f"{name}/")
            for name in TIERS}


def with_endpoint(url: str) -> str:
    """An s3:// storage URL with the endpoint it is reached at written in (?endpoint=, from
    AWS_ENDPOINT_URL when the URL has none), so that a recorded URL needs no environment;
    other URLs unchanged. Credentials are never part of it."""
    parsed = urlparse(url)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if parsed.scheme != "s3" or "endpoint" in parse_qs(parsed.query) or not endpoint:
        return url
    return parsed._replace(query="&".join(filter(None, [parsed.query, f"endpoint={endpoint}"]))).geturl()


def object_key(camera: str, seq: int, layer: str, sha256: str) -> str:
    """Where a segment's layer is stored within a tier; the content hash is part of the key,
    so two different bodies raced for one segment never overwrite each other."""
    suffix = "mp4" if layer == MACHINE else "vcmr"
    return f"{camera}/{seq:010d}.{layer}.{sha256[:16]}.{suffix}"
