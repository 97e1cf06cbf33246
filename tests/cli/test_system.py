"""The system commands refuse bad input with one line and exit 1, before any work."""

import subprocess
from pathlib import Path

import pytest

from tests.live_service import VCM, Service, create_token, free_port

pytestmark = pytest.mark.system  # starts real servers


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*VCM, *args], capture_output=True, text=True, timeout=120, env=env)


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vcm: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_system_commands(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    nowhere = f"http://127.0.0.1:{free_port()}"
    one_line_error(run("token", "create", "../x", "--data", data), "bad name")
    one_line_error(run("token", "create", "cam", "--data", data, "--catalog", "mysql://x"), "catalog")
    one_line_error(run("token", "create", "cam", "--data", data, "--catalog", f"sqlite:///{tmp_path}/other.db"),
                   "cannot switch")  # the folder already records its catalog
    one_line_error(run("serve", "--data", data, "--port", "70000"), "--port")
    one_line_error(run("edge", str(tmp_path / "missing.mp4"), "--server", nowhere, "--camera", "cam",
                       "--token", "t", "--spool", str(tmp_path / "spool")), "missing.mp4")
    one_line_error(run("edge", "x.mp4", "--server", "ftp://host", "--camera", "cam", "--token", "t"),
                   "--server")
    one_line_error(run("search", "--server", nowhere, "--class", "person"), "token")
    one_line_error(run("search", "--server", nowhere, "--token", "t", "--class", "person"), "cannot reach")
    one_line_error(run("restore", "--server", nowhere, "--token", "t", "--camera", "cam", "-o",
                       str(tmp_path / "no-dir" / "x.mp4")), "does not exist")
    one_line_error(run("restore", "--server", nowhere, "--token", "t", "--camera", "cam", "-o",
                       str(tmp_path / "x.mp4"), "--from", "yesterday"), "bad time")
    one_line_error(run("storage", "move", "--data", data, "--older-than", "-1"), "older-than")
    for value in ("nan", "inf", "1e400"):
        one_line_error(run("storage", "move", "--data", data, "--older-than", value), "older-than")
        one_line_error(run("serve", "--data", data, "--archive-after", value), "archive-after")
        one_line_error(run("search", "--server", nowhere, "--token", "t", "--class", "person",
                           "--from", value), "time")
    one_line_error(run("storage", "delete", "--data", data, "--camera", "cam"), "nothing stored")
    one_line_error(run("storage", "delete", "--data", data, "--camera", "../x"), "bad name")


def test_restore_of_an_empty_camera_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    reader = create_token(data, "ops", "reader")
    out = tmp_path / "out.mp4"
    with Service(data) as service:
        one_line_error(run("restore", "--server", service.url, "--token", reader, "--camera", "cam", "-o",
                           str(out)), "no stored segments")
        one_line_error(run("search", "--server", service.url, "--token", "wrong", "--class", "person"), "401")
    assert list(tmp_path.glob("*.mp4")) == [] and list(tmp_path.glob(".*part*")) == []


@pytest.mark.parametrize("command", [["storage", "check"], ["storage", "report", "--json"]])
def test_storage_commands_on_an_empty_folder(tmp_path: Path, command: list[str]) -> None:
    result = run(*command, "--data", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr


def test_tokens_are_listed_rotated_and_revoked_by_role(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    camera = run("token", "create", "gate", "--data", data, "--expires-in", "30").stdout.strip()
    reader = run("token", "create", "gate", "--role", "reader", "--data", data).stdout.strip()
    listed = run("token", "list", "--data", data)
    assert listed.returncode == 0 and camera not in listed.stdout and reader not in listed.stdout
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2 and "camera" in lines[0] and "expires 20" in lines[0]
    assert "expires never" in lines[1]
    rotated = run("token", "rotate", "gate", "--data", data, "--grace-hours", "0")
    assert rotated.returncode == 0 and rotated.stdout.startswith("vcm_") and rotated.stdout.strip() != camera
    one_line_error(run("token", "revoke", "gate", "--data", data), "both a camera and a reader")
    revoked = run("token", "revoke", "gate", "--role", "reader", "--data", data)
    assert revoked.returncode == 0 and "revoked 1 reader token" in revoked.stdout
    one_line_error(run("token", "revoke", "gate", "--role", "reader", "--data", data), "as a reader")
    one_line_error(run("token", "rotate", "nobody", "--data", data), "create one first")
    one_line_error(run("token", "create", "x", "--data", data, "--expires-in", "nan"), "--expires-in")
