"""`vcm servers`: PostgreSQL and S3 started in one folder, used by the fleet commands, stopped,
and started again on the same data."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.system  # starts real servers

VCM = [sys.executable, "-m", "vcm.cli"]


def _vcm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VCM, *args], capture_output=True, text=True, timeout=180, env=env, check=False)


def _secrets(folder: Path) -> dict[str, str]:
    """servers.env read the way a shell's `.` would."""
    values = {}
    for line in (folder / "servers.env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0]
    return values


def test_start_use_stop_and_start_again_on_the_same_data(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vcm-trial-"))  # not under pytest's 0700 root: postgres enters it
    try:
        started = _vcm("servers", "start", "--dir", str(folder))
        assert started.returncode == 0, started.stderr
        serve_line = next(line.strip() for line in started.stdout.splitlines() if "vcm serve" in line)
        words = shlex.split(serve_line.split("&&", 1)[1])
        catalog, storage = words[words.index("--catalog") + 1], words[words.index("--storage") + 1]
        assert catalog.startswith("postgresql+psycopg://postgres@127.0.0.1:") and catalog.endswith("/vcm")
        assert storage.startswith("s3://vcm/site?endpoint=http://127.0.0.1:")

        keys = _secrets(folder)
        assert set(keys) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"}
        assert (folder / "servers.env").stat().st_mode & 0o777 == 0o600
        state = (folder / "servers.json").read_text()
        assert not any(secret in state for secret in keys.values())  # ports and endpoint only
        assert not any(secret in started.stdout for secret in keys.values())

        # the printed settings work for a fleet command: a token lands in the PostgreSQL catalog
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PG"))} | keys
        data = tmp_path / "data"
        created = _vcm("token", "create", "cam1", "--data", str(data), "--catalog", catalog,
                       "--storage", storage, env=environment)
        assert created.returncode == 0, created.stderr
        # without the password the catalog refuses: the cluster is not open to anyone on the machine
        refused = _vcm("token", "list", "--data", str(data),
                       env={k: v for k, v in environment.items() if k != "PGPASSWORD"})
        assert refused.returncode != 0 and "Traceback" not in refused.stderr

        again = _vcm("servers", "start", "--dir", str(folder))
        assert again.returncode == 0 and "already running" in again.stdout
        assert serve_line in again.stdout

        # a readiness probe cut short (a restart's volume not yet registered) leaves its bucket behind
        s3 = boto3.client("s3", endpoint_url=storage.split("endpoint=", 1)[1], region_name="us-east-1",
                          aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="readiness-probe")

        stopped = _vcm("servers", "stop", "--dir", str(folder))
        assert stopped.returncode == 0 and "PostgreSQL" in stopped.stdout and "S3" in stopped.stdout
        status = _vcm("servers", "status", "--dir", str(folder))
        assert status.returncode == 0 and status.stdout.count("stopped") == 2

        restarted = _vcm("servers", "start", "--dir", str(folder))
        assert restarted.returncode == 0, restarted.stderr
        assert _secrets(folder) == keys
        listed = _vcm("token", "list", "--data", str(data), "--json", env=environment)
        assert listed.returncode == 0, listed.stderr
        assert [token["name"] for token in json.loads(listed.stdout)] == ["cam1"]
    finally:
        _vcm("servers", "stop", "--dir", str(folder))
        shutil.rmtree(folder, ignore_errors=True)


def test_a_folder_without_servers_is_one_line(tmp_path: Path) -> None:
    for action in ("stop", "status"):
        done = _vcm("servers", action, "--dir", str(tmp_path))
        assert done.returncode == 1 and "holds no servers" in done.stderr and "Traceback" not in done.stderr


def test_a_lost_secrets_file_is_one_line_and_nothing_is_rewritten() -> None:
    folder = Path(tempfile.mkdtemp(prefix="vcm-trial-"))  # one the postgres user could enter
    try:
        (folder / "servers.json").write_text(json.dumps({"postgres": {"port": 5999},
                                                         "s3": {"ports": {"s3": 6000}, "pid": None}}))
        for action in ("status", "stop", "start"):
            done = _vcm("servers", action, "--dir", str(folder))
            assert done.returncode == 1 and "servers.env is missing or damaged" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
        assert not (folder / "servers.env").exists()  # no new secrets for servers set up with the old ones
    finally:
        shutil.rmtree(folder, ignore_errors=True)
