"""The loopback servers of tests/system/conftest.py work: PostgreSQL via SQLAlchemy, S3 via boto3."""

import uuid

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

pytestmark = pytest.mark.system  # starts real servers


def test_postgres_table_round_trip(fresh_postgres_url: str) -> None:
    assert fresh_postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(fresh_postgres_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # a fresh database is empty
        meta = sa.MetaData()
        items = sa.Table(
            "items", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text)
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(items.insert(), [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(items.c.id, items.c.name).order_by(items.c.id)).all()
            assert [tuple(r) for r in rows] == [(1, "alpha"), (2, "beta")]
            # Served over TCP on loopback by the cluster the fixture started.
            assert conn.execute(sa.text("select host(inet_server_addr())")).scalar() == "127.0.0.1"
            assert conn.execute(sa.text("show server_version_num")).scalar().startswith("15")
    finally:
        engine.dispose()


def test_fresh_postgres_databases_are_separate(postgres_url: str, fresh_postgres_url: str) -> None:
    assert fresh_postgres_url != postgres_url
    shared = sa.create_engine(postgres_url)
    fresh = sa.create_engine(fresh_postgres_url)
    try:
        with shared.begin() as conn:
            conn.execute(sa.text("create table if not exists shared_marker (x int)"))
        assert "shared_marker" not in sa.inspect(fresh).get_table_names()
    finally:
        shared.dispose()
        fresh.dispose()


def test_s3_put_get_list_delete(s3_server, fresh_bucket: str) -> None:
    assert s3_server.endpoint.startswith("http://127.0.0.1:")
    s3 = s3_server.client()
    assert s3.list_objects_v2(Bucket=fresh_bucket).get("KeyCount", 0) == 0
    s3.put_object(Bucket=fresh_bucket, Key="a/one.bin", Body=b"\x00\x01payload")
    s3.put_object(Bucket=fresh_bucket, Key="a/two.txt", Body=b"two")
    assert s3.get_object(Bucket=fresh_bucket, Key="a/one.bin")["Body"].read() == b"\x00\x01payload"
    listed = s3.list_objects_v2(Bucket=fresh_bucket, Prefix="a/")
    assert sorted(o["Key"] for o in listed["Contents"]) == ["a/one.bin", "a/two.txt"]
    s3.delete_object(Bucket=fresh_bucket, Key="a/one.bin")
    listed = s3.list_objects_v2(Bucket=fresh_bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["a/two.txt"]
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=fresh_bucket, Key="a/one.bin")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"


def test_s3_object_is_stored_by_the_server(s3_server, fresh_bucket: str) -> None:
    """What one client PUTs, a brand-new client reads back, and the bytes are in weed's data dir."""
    payload = f"stored-{uuid.uuid4().hex}".encode()
    s3_server.client().put_object(Bucket=fresh_bucket, Key="k", Body=payload)
    assert s3_server.client().get_object(Bucket=fresh_bucket, Key="k")["Body"].read() == payload
    on_disk = [p for p in s3_server.data.rglob("*.dat") if payload in p.read_bytes()]
    assert on_disk, f"payload not found in any volume file under {s3_server.data}"


def test_s3_refuses_wrong_credentials(s3_server) -> None:
    import boto3

    intruder = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key="not-the-secret",
        region_name=s3_server.region,
    )
    with pytest.raises(ClientError) as err:
        intruder.list_buckets()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
