"""Real servers on 127.0.0.1 for system tests: a throw-away PostgreSQL cluster and SeaweedFS (S3),
started by vcm.cloud.servers (the code behind `vcm servers`).

Fixtures (session-scoped servers are shared by every module under tests/system/):

- ``postgres_cluster`` (session): a :class:`Postgres` (initdb + pg_ctl into a temp dir, trust auth).
- ``postgres_url`` (session): ``postgresql+psycopg://postgres@127.0.0.1:PORT/vcm`` on that cluster.
- ``fresh_postgres_url`` (function): URL of a new, empty database, dropped after the test.
- ``s3_server`` (session): an :class:`S3Server` (``weed mini``) with ``endpoint``, ``access_key``,
  ``secret_key``, ``region``, ``data`` and ``client()``.
- ``fresh_bucket`` (function): name of a new, empty bucket, deleted after the test.

Every server listens on loopback only, on free ports, and is stopped at the end of the session
also when tests fail. A server that is not up within ``STARTUP_TIMEOUT_S`` seconds fails the tests
with its log tail; a missing binary fails them with a one-line hint of what to install.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcm.atomic import process_alive
from vcm.cloud.servers import (
    Postgres,
    S3Server,
    ServerError,
    command_line,
    free_ports,
    log_tail,
    postgres_in,
    read_pid,
    signal_and_wait,
    stop_group,
)
from vcm.cloud.servers import s3_server as new_s3_server

__all__ = ["Postgres", "S3Server"]


# Temp dirs of the servers: /tmp/<prefix>XXXX holding OWNER_FILE (pid of the pytest process)
# and, for weed, WEED_PID_FILE. A later session removes what a hard-killed one left running.
PG_PREFIX = "vcm-systest-pg-"
WEED_PREFIX = "vcm-systest-weed-"
OWNER_FILE = "owner.pid"
WEED_PID_FILE = "weed.pid"


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
        owner = read_pid(root / OWNER_FILE)
        if owner is None or process_alive(owner):
            continue
        server_pid = read_pid(root / "data" / "postmaster.pid") or read_pid(root / WEED_PID_FILE)
        cmdline = command_line(server_pid) if server_pid else ""
        if server_pid and process_alive(server_pid) and str(root) in cmdline:
            if prefix == WEED_PREFIX:
                # SIGTERM first: weed then removes its gRPC sockets /tmp/seaweedfs-*-grpc-PORT.sock.
                signal_and_wait(server_pid, signal.SIGTERM, group=True)
                if signal_and_wait(server_pid, signal.SIGKILL, group=True):
                    for port in re.findall(r"\.port\.grpc=(\d+)", cmdline):
                        for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-grpc-{port}.sock"):
                            sock.unlink(missing_ok=True)
            else:
                signal_and_wait(server_pid, signal.SIGQUIT)  # postgres: immediate shutdown
                signal_and_wait(server_pid, signal.SIGKILL)
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


@contextlib.contextmanager
def _failing_tests(log: Path | None = None) -> Iterator[None]:
    """A server that cannot start fails the tests with its one-line reason and its log tail."""
    try:
        yield
    except ServerError as error:
        tail = f"\nlog tail:\n{log_tail(log)}" if log else ""
        pytest.fail(f"{error} (or `make servers-check` as root){tail}", pytrace=False)


# --------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster (Debian's initdb/pg_ctl) on 127.0.0.1:<free port>, trust auth."""
    _sigterm_tears_down()
    # Not under pytest's basetemp: that is 0700 root and postgres could not enter it.
    root = _make_root(PG_PREFIX)
    started = False
    try:
        with _failing_tests():
            cluster = postgres_in(root, free_ports(1)[0], password=None)
        with _failing_tests(cluster.log):
            started = True  # from here on, teardown must try to stop it
            cluster.start(durable=False)
        yield cluster
    finally:
        if started:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: Postgres) -> str:
    """SQLAlchemy URL of database ``vcm`` on the session cluster (shared by all tests)."""
    return postgres_cluster.create_database("vcm")


@pytest.fixture
def fresh_postgres_url(postgres_cluster: Postgres) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database for this test only (dropped afterwards)."""
    name = f"t_{secrets.token_hex(6)}"
    yield postgres_cluster.create_database(name)
    postgres_cluster.drop_database(name)  # WITH (FORCE): leftover pooled connections are cut


# --------------------------------------------------------------------------------------------
# SeaweedFS (S3)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` serving S3 on 127.0.0.1:<free port>, every other port free too."""
    _sigterm_tears_down()
    root = _make_root(WEED_PREFIX)
    server = new_s3_server(root, access_key="vcm" + secrets.token_hex(6), secret_key=secrets.token_hex(20))
    pid = None
    try:
        with _failing_tests(server.log):
            process = server.start(root)
            pid = process.pid
            (root / WEED_PID_FILE).write_text(str(pid))
        yield server
    finally:
        if pid is not None:
            stop_group(pid)
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
