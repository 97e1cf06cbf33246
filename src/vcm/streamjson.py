"""JSON files written while the work runs: a list streamed item by item, totals at the end.

The file is `{...head, "<list>": [item, item, ...], ...tail}`; it is written under a
temporary name and renamed into place by `finish`, so a failed or killed run leaves
nothing at the target (see vcm.atomic).
"""

import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from vcm.atomic import check_output, remove_stale_parts, temporary_path
from vcm.errors import OutputError


class JsonListWriter:
    """Streams `{**head, key: [items...], **tail}` to `path`; a context manager that
    removes the temporary file unless `finish` succeeded."""

    def __init__(self, path: str | os.PathLike[str], key: str, head: dict[str, object] | None = None) -> None:
        self.target = check_output(path)
        remove_stale_parts(self.target)
        self.temporary = temporary_path(self.target)
        self._handle: IO[str] | None = None
        self._count = 0
        try:
            self._handle = self.temporary.open("w")
            self._handle.write("{")
            for name, value in (head or {}).items():
                self._handle.write(f"{json.dumps(name)}: {json.dumps(value)}, ")
            self._handle.write(f"{json.dumps(key)}: [")
        except OSError as error:
            self.abort()
            raise OutputError(f"cannot write {self.target}: {error.strerror or error}") from error

    def add(self, item: object) -> None:
        """Append one item to the list."""
        assert self._handle is not None
        try:
            self._handle.write(("," if self._count else "") + "\n" + json.dumps(item))
        except OSError as error:
            self.abort()
            raise OutputError(f"cannot write {self.target}: {error.strerror or error}") from error
        self._count += 1

    def finish(self, tail: dict[str, object] | None = None) -> Path:
        """Close the list, write `tail`, and move the file into place."""
        assert self._handle is not None
        try:
            self._handle.write("\n]")
            for name, value in (tail or {}).items():
                self._handle.write(f", {json.dumps(name)}: {json.dumps(value)}")
            self._handle.write("}\n")
            self._handle.close()
            self._handle = None
            os.replace(self.temporary, self.target)
        except OSError as error:
            self.abort()
            raise OutputError(f"cannot write {self.target}: {error.strerror or error}") from error
        return self.target

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        Path(self.temporary).unlink(missing_ok=True)

    def __enter__(self) -> "JsonListWriter":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._handle is not None:
            self.abort()
