"""The fleet configuration: the catalog on a real PostgreSQL and the tiers on a real
S3-compatible store (SeaweedFS), both on loopback, through the same code as the defaults."""

import hashlib
import os
import subprocess

import pytest

from tests.cloud.test_catalog import catalog_checks
from tests.cloud.test_storage import tier_checks
from tests.live_service import VCM, Service, create_token, segment_bytes
from tests.system.conftest import S3Server
from vcm.api.client import Client
from vcm.cloud.catalog import Catalog
from vcm.cloud.storage import open_tiers

pytestmark = pytest.mark.system  # starts real servers


def s3_env(server: S3Server) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key,
            "AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": server.region}


def test_postgresql_catalog(fresh_postgres_url: str) -> None:
    catalog_checks(Catalog(fresh_postgres_url))


def test_s3_tiers(s3_server: S3Server, fresh_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3_env(s3_server).items():
        monkeypatch.setenv(key, value)
    tier_checks(open_tiers(f"s3://{fresh_bucket}/site-1"))


def test_a_missing_bucket_is_one_line(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from vcm.errors import InputError

    for key, value in s3_env(s3_server).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InputError, match="cannot reach the bucket 'no-such-bucket'"):
        open_tiers("s3://no-such-bucket")


def test_service_on_postgresql_and_s3(tmp_path, fresh_postgres_url: str, s3_server: S3Server,
                                      fresh_bucket: str) -> None:
    env = s3_env(s3_server)
    data = tmp_path / "data"
    flags = ["--catalog", fresh_postgres_url, "--storage", f"s3://{fresh_bucket}/fleet"]
    camera = create_token(data, "cam7", "camera", *flags, env=env)
    recorded = (data / "system.json").read_text()
    assert f"endpoint={s3_server.endpoint}" in recorded and s3_server.secret_key not in recorded
    without_endpoint = {key: value for key, value in env.items() if key != "AWS_ENDPOINT_URL"}
    reader = create_token(data, "ops", "reader", env=without_endpoint)  # the URLs come from system.json
    segments = [segment_bytes(8, seed=seed) for seed in range(3)]
    with Service(data, env=env) as running:
        with Client(running.url, camera) as client:
            for seq, body in enumerate(segments):
                assert client.put_layer("cam7", seq, "machine", body, start=500.0 + seq * 0.8, frames=8,
                                        fps=10)
            assert not client.put_layer("cam7", 1, "machine", segments[1], start=500.8, frames=8, fps=10)
        with Client(running.url, reader) as client:
            assert [item["seq"] for item in client.segments("cam7")] == [0, 1, 2]
            assert client.layer("cam7", 2, "machine") == segments[2]
        out = tmp_path / "machine.mp4"
        restored = subprocess.run([*VCM, "restore", "--server", running.url, "--token", reader,
                                   "--camera", "cam7", "--machine", "-o", str(out)],
                                  capture_output=True, text=True, timeout=120)
        assert restored.returncode == 0, restored.stderr
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                                "stream=codec_name,nb_read_frames", "-of", "csv=p=0", str(out)],
                               capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == "hevc,24"
    stored = {item["Key"]: item["Size"] for item in s3_server.client().list_objects_v2(
        Bucket=fresh_bucket)["Contents"]}
    keys = [f"fleet/hot/cam7/{seq:010d}.machine.{hashlib.sha256(body).hexdigest()[:16]}.mp4"
            for seq, body in enumerate(segments)]
    assert sorted(stored) == keys
    sizes = [stored[key] for key in keys]
    assert sizes == [len(s) for s in segments]
    report = subprocess.run([*VCM, "storage", "check", "--data", str(data), "--json"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, **env})
    assert report.returncode == 0, report.stdout + report.stderr
    assert hashlib.sha256(segments[0]).hexdigest() in subprocess.run(
        ["psql", fresh_postgres_url.replace("+psycopg", ""), "-tAc",
         "select sha256 from objects where seq = 0"],
        capture_output=True, text=True, check=True).stdout
