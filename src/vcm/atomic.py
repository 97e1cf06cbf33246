"""Write outputs under temporary names and rename them into place when all are complete.

A temporary file is `.NAME.PID.WRITER.partSUFFIX` beside its target, WRITER unique to one
write (thread and random), so threads of one process writing the same target (a server
storing two identical uploads at once) never share one. A run killed by SIGKILL cannot
remove its own; the next run writing the same target removes every such file whose
process is gone, so none survives it.
"""

import errno
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vcm.errors import OutputError


def check_output(path: str | os.PathLike[str]) -> Path:
    """Fail now, before any long work, if `path` cannot become an output file: it is a
    directory, or its folder is missing or not writable. Returns it as a Path."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"output {target} is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output directory {parent} is not writable")
    return target


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Fail now if `path` cannot be (or become) a writable folder: it names an existing
    file, or the nearest existing folder above it is not writable."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {folder} is an existing file")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"output folder {folder} lies under the file {existing}")
    if not os.access(existing, os.W_OK):
        raise OutputError(f"output folder {existing} is not writable")
    return folder


def temporary_path(target: Path) -> Path:
    """Where `target` is written until it is complete: `.NAME.PID.WRITER.partSUFFIX` beside it,
    a new name on every call."""
    parent = target.parent if str(target.parent) else Path(".")
    writer = f"{threading.get_ident():x}{secrets.token_hex(4)}"
    return parent / f".{target.name}.{os.getpid()}.{writer}.part{target.suffix}"


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not yet reaped, counts as gone)."""
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


def remove_stale_parts(target: Path) -> None:
    """Delete temporary files of `target` left by processes that no longer run."""
    parent = target.parent if str(target.parent) else Path(".")
    for part in parent.glob(f".{target.name}.*.part{target.suffix}"):
        pid_text = part.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not process_alive(int(pid_text)):
            part.unlink(missing_ok=True)


@contextmanager
def atomic_outputs(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Yield temporary paths beside `paths`; rename all of them into place only if the block
    succeeds. On any error every temporary file is removed and no target is touched; if a
    later rename fails, the targets already renamed are removed again (all or nothing)."""
    targets = [check_output(path) for path in paths]
    for target in targets:
        remove_stale_parts(target)
    temporaries = [temporary_path(target) for target in targets]
    done: list[Path] = []
    try:
        yield temporaries
        for temporary, target in zip(temporaries, targets, strict=True):
            os.replace(temporary, target)
            done.append(target)
    except OSError as error:
        _remove(temporaries + done)
        name = targets[len(done)] if len(done) < len(targets) else targets[-1]
        if error.errno == errno.ENOSPC:
            raise OutputError(f"no space left on device while writing {name}") from error
        raise OutputError(f"cannot write {name}: {error.strerror or error}") from error
    except BaseException:
        _remove(temporaries + done)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds."""
    with atomic_outputs(path) as (temporary,):
        yield temporary


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text)


def write_durably(path: Path, data: bytes, what: str) -> None:
    """Write `data` to `path` so that it is on disk when this returns: a temporary file beside
    it, fsync, rename, fsync of the folder. A crash leaves the old file or the new one, never
    half of one (at most a stale temporary file). OutputError names `what` and the reason."""
    temporary = temporary_path(path)
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        fsync_folder(path.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        reason = "the disk is full" if error.errno == errno.ENOSPC else error.strerror
        raise OutputError(f"cannot write {what}: {reason}") from None


def private_folder(folder: Path) -> None:
    """Create `folder` if missing and make it and everything this process creates from now on
    readable by the owner only (folder mode 0700, umask 077): footage and secrets live there."""
    os.umask(0o077)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def fsync_folder(folder: Path) -> None:
    """Make a folder's entries (new and renamed files) durable."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
