"""`vcm servers`: the fleet's PostgreSQL catalog and S3 store started in one folder on this
machine, on loopback, to try the fleet setup with one command.

The folder holds both servers' data and logs, servers.json (ports and the S3 server's process
id; never a secret) and servers.env (mode 0600: the S3 keys and the PostgreSQL password as
`export` lines for a shell). Starting again reuses the data, the secrets and, where they are
still free, the ports."""

from __future__ import annotations

import json
import os
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from vcm.atomic import private_folder, process_alive, write_text_atomic
from vcm.cloud.servers import (
    LOOPBACK,
    WEED_PORTS,
    Postgres,
    S3Server,
    ServerError,
    command_line,
    free_ports,
    port_is_free,
    postgres_in,
    s3_server,
    stop_group,
)

DATABASE = "vcm"
BUCKET = "vcm"
STATE_FILE = "servers.json"
SECRETS_FILE = "servers.env"
SECRET_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD")


@dataclass
class LocalServers:
    """The two servers of a trial folder, as recorded there."""

    folder: Path
    postgres: Postgres
    s3: S3Server
    s3_pid: int | None

    @property
    def catalog_url(self) -> str:
        return self.postgres.url(DATABASE)

    @property
    def storage_url(self) -> str:
        return f"s3://{BUCKET}/site?endpoint={self.s3.endpoint}"

    def serve_command(self, data: str = "vcm-data") -> str:
        """The `vcm serve` line that uses these servers (the secrets come from servers.env)."""
        return (f". {shlex.quote(str(self.folder / SECRETS_FILE))} && vcm serve --data {shlex.quote(data)} "
                f"--catalog {self.catalog_url} --storage {shlex.quote(self.storage_url)}")

    def s3_running(self) -> bool:
        pid = self.s3_pid
        return pid is not None and process_alive(pid) and str(self.folder) in command_line(pid)


def _secrets(folder: Path, create: bool) -> dict[str, str]:
    """The folder's secrets: S3 access and secret key, PostgreSQL password; made when `create`
    and the folder has none yet, else ServerError when servers.env is missing or damaged (the
    servers were set up with what it held)."""
    path = folder / SECRETS_FILE
    found: dict[str, str] = {}
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name in SECRET_NAMES and value:
                found[name] = shlex.split(value)[0]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, IndexError) as error:
        raise ServerError(f"{path} cannot be read ({error})") from None
    if set(found) == set(SECRET_NAMES) and all(found.values()):
        return found
    if not create:
        raise ServerError(f"{path} is missing or damaged: the servers' password and keys were in it; restore "
                          "it, or start afresh with another --dir")
    found = {"AWS_ACCESS_KEY_ID": "vcm" + secrets.token_hex(6),
             "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20), "PGPASSWORD": secrets.token_urlsafe(24)}
    write_text_atomic(path, "".join(f"export {name}={shlex.quote(value)}\n" for name, value in found.items()))
    path.chmod(0o600)
    return found


def _ports(recorded: dict[str, int] | None, names: tuple[str, ...]) -> dict[str, int]:
    """The recorded ports when every one is still free, else new free ports."""
    if recorded and set(recorded) == set(names) and all(port_is_free(port) for port in recorded.values()):
        return {name: recorded[name] for name in names}
    return dict(zip(names, free_ports(len(names)), strict=True))


def load(folder: Path) -> LocalServers:
    """The servers a trial folder records (InputError-like ServerError when it records none)."""
    try:
        state = json.loads((folder / STATE_FILE).read_text())
        keys = _secrets(folder, create=False)
        postgres = postgres_in(folder / "postgres", int(state["postgres"]["port"]), keys["PGPASSWORD"])
        ports = {name: int(port) for name, port in state["s3"]["ports"].items()}
        s3 = s3_server(folder, keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], ports)
        return LocalServers(folder, postgres, s3, state["s3"].get("pid"))
    except FileNotFoundError:
        raise ServerError(f"{folder} holds no servers: start them with "
                          f"vcm servers start --dir {folder}") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ServerError(f"{folder / STATE_FILE} cannot be read ({error}); "
                          "stop the servers by hand") from None


def _record(servers: LocalServers) -> None:
    state = {"postgres": {"port": servers.postgres.port},
             "s3": {"ports": servers.s3.ports, "pid": servers.s3_pid, "endpoint": servers.s3.endpoint},
             "catalog": servers.catalog_url, "storage": servers.storage_url}
    write_text_atomic(servers.folder / STATE_FILE, json.dumps(state, indent=1) + "\n")


def _check_reachable(folder: Path) -> None:
    """As root the cluster runs as the OS user `postgres`, which must be able to pass through
    every folder above `folder`."""
    for parent in folder.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise ServerError(f"PostgreSQL runs as the user postgres, which cannot enter {parent}: choose a "
                              f"folder it can reach (e.g. under /srv or /tmp) or chmod o+x {parent}")


def start(folder: Path) -> tuple[LocalServers, bool]:
    """Start (or find running) PostgreSQL with database `vcm` and S3 with bucket `vcm` for a
    trial folder -> the servers and whether anything had to be started. What this call started
    is stopped again when the other fails."""
    folder = folder.resolve()
    if os.geteuid() == 0:
        _check_reachable(folder)
    private_folder(folder)
    if os.geteuid() == 0:
        folder.chmod(0o711)  # the `postgres` user must reach its own data folder inside
    current = load(folder) if (folder / STATE_FILE).is_file() else None  # a damaged record: one line
    keys = _secrets(folder, create=not (folder / "postgres" / "data" / "PG_VERSION").is_file())
    postgres = current.postgres if current and current.postgres.running() else None
    s3 = current.s3 if current and current.s3_running() else None
    if postgres and s3 and current:
        return current, False
    if postgres is None:
        recorded = {"pg": current.postgres.port} if current else None
        postgres = postgres_in(folder / "postgres", _ports(recorded, ("pg",))["pg"], keys["PGPASSWORD"])
        (folder / "postgres").mkdir(exist_ok=True)
        postgres.start()
        started_postgres = True
    else:
        started_postgres = False
    s3_pid = current.s3_pid if s3 and current else None
    try:
        if not postgres.has_database(DATABASE):
            postgres.create_database(DATABASE)
        if s3 is None:
            ports = _ports(current.s3.ports if current else None, WEED_PORTS)
            s3 = s3_server(folder, keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], ports)
            s3_pid = s3.start(folder).pid
        _ensure_bucket(s3)
    except BaseException:
        if started_postgres:
            postgres.stop()
        raise
    servers = LocalServers(folder, postgres, s3, s3_pid)
    _record(servers)
    return servers, True


def _ensure_bucket(s3: S3Server) -> None:
    """Bucket BUCKET on the S3 server (created when missing); ServerError when S3 refuses."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = s3.client()
        if BUCKET not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=BUCKET)
    except (BotoCoreError, ClientError) as error:
        raise ServerError(f"the S3 server at {s3.endpoint} refuses the bucket {BUCKET}: {error}") from None


def stop(folder: Path) -> list[str]:
    """Stop a trial folder's servers -> what was stopped (nothing when none ran)."""
    servers = load(folder.resolve())
    stopped = []
    if servers.postgres.running():
        servers.postgres.stop()
        stopped.append(f"PostgreSQL on {LOOPBACK}:{servers.postgres.port}")
    if servers.s3_running() and servers.s3_pid is not None:
        stop_group(servers.s3_pid)
        stopped.append(f"SeaweedFS S3 at {servers.s3.endpoint}")
    return stopped
