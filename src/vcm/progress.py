"""Progress for long work, on stderr: rich bars on a terminal, and a plain line at least every
LOG_EVERY seconds when stderr is a log or a pipe (where bars would stay silent)."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)
LOG_EVERY = 10.0  # seconds between progress lines in a log

# (label, done, total or None when a live stream has no known end): how long work reports progress
ProgressCallback = Callable[[str, int, int | None], None]


@dataclass
class _LoggedTask:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = 0.0
    logged: bool = False


class LogProgress:
    """The part of rich's Progress that vcm uses, writing 'description: done/total (elapsed)'
    lines every LOG_EVERY seconds while work runs, and when a task that was logged ends (work
    shorter than LOG_EVERY writes none)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tasks: dict[int, _LoggedTask] = {}
        self.last_line = clock()

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = _LoggedTask(description, total, started=self.clock())
        return task_id

    def update(self, task_id: int, *, completed: float | None = None, description: str | None = None,
               total: float | None = None, advance: float | None = None, **_: Any) -> None:
        task = self.tasks[task_id]
        task.description = description if description is not None else task.description
        task.total = total if total is not None else task.total
        task.completed = completed if completed is not None else task.completed + (advance or 0.0)
        finished = task.total is not None and task.completed >= task.total
        if (finished and task.logged) or self.clock() - self.last_line >= LOG_EVERY:
            self._line(task)

    def advance(self, task_id: int, advance: float = 1.0) -> None:
        self.update(task_id, advance=advance)

    def remove_task(self, task_id: int) -> None:
        self.tasks.pop(task_id, None)

    def _line(self, task: _LoggedTask) -> None:
        self.last_line, task.logged = self.clock(), True
        done = f"{task.completed:g}" + (f"/{task.total:g}" if task.total is not None else "")
        console.print(f"{task.description}: {done} ({self.last_line - task.started:.0f} s)",
                      highlight=False, soft_wrap=True)


@contextmanager
def progress_bar() -> Iterator[Any]:
    """A rich Progress with a bar, m/n counter, elapsed and remaining time on a terminal; a
    LogProgress otherwise."""
    if not console.is_terminal:
        yield LogProgress()
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as progress:
        yield progress


def task_reporter(progress: Any) -> ProgressCallback:
    """A `(label, done, total)` callback that keeps one bar per label, removed when done;
    total None (a live stream) shows a count without an end."""
    tasks: dict[str, int] = {}

    def report(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done)
        if total is not None and done >= total:
            progress.remove_task(tasks.pop(label))

    return report
