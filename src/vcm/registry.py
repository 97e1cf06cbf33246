"""One registry for named things (planners, tasks, detectors, restoration methods, assets).

Entries are registered once by name; `entry(name)` raises the one-line InputError that lists
the choices, so every `--option NAME` in vcm reports a wrong name the same way. A Registry
reads like a mapping (`name in r`, `r[name]`, `list(r)`, `r.values()`), in registration order.
"""

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from vcm.errors import InputError

Entry = TypeVar("Entry")


class Registry(Mapping[str, Entry]):
    """Named entries of one kind (the kind names them in errors, e.g. 'planner')."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, entry: Entry) -> Entry:
        """Add `entry` under `name`; a name registered twice is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = entry
        return entry

    def entry(self, name: str) -> Entry:
        """The entry called `name`; InputError naming the choices otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(self.choices())
            raise InputError(f"unknown {self.kind} {name!r}; choose from {choices}") from None

    def choices(self) -> list[str]:
        return list(self._entries)

    def __getitem__(self, name: str) -> Entry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def lazy(target: str) -> Callable[[], Any]:
    """A factory for a registry entry: imports "module:Class" and builds it with no arguments
    only when called, so listing the choices loads no model."""
    module, _, name = target.partition(":")

    def build() -> Any:
        return getattr(importlib.import_module(module), name)()

    return build
