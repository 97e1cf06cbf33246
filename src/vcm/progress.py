"""Progress bars for long work (rich), shown on stderr."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

# (label, done, total or None when a live stream has no known end): how long work reports progress
ProgressCallback = Callable[[str, int, int | None], None]


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A rich Progress with a bar, m/n counter, elapsed and remaining time."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as progress:
        yield progress


def task_reporter(progress: Progress) -> ProgressCallback:
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
