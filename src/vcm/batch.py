"""Batch work over many items on Ray: one task per item, the same code on one machine or a
cluster. Without an address the items run one after the other in this process.

address: 'local' starts Ray on this machine; 'auto' joins the cluster this machine belongs
to (`ray start --head` ran here) and otherwise starts a local one; anything else is a
cluster address (HOST:PORT or ray://HOST:PORT). Task functions must be importable
(module-level) and their items and results picklable.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vcm.errors import InputError
from vcm.progress import ProgressCallback

Item = TypeVar("Item")
Result = TypeVar("Result")


def _connect(address: str) -> None:
    import ray

    if ray.is_initialized():
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "local":
        ray.init(num_cpus=os.cpu_count() or 1, **quiet)
        return
    try:
        ray.init(address=address, **quiet)
    except ConnectionError:
        if address != "auto":
            raise InputError(f"cannot join the Ray cluster at {address}") from None
        ray.init(num_cpus=os.cpu_count() or 1, **quiet)


def run_batch(task: Callable[[Item], Result], items: Sequence[Item], *, ray_address: str | None = None,
              label: str = "tasks", progress: ProgressCallback | None = None) -> list[Result]:
    """[task(item) for item in items], on Ray when `ray_address` is given; results in item order.
    A failed task raises its error here."""
    if ray_address is None:
        results = []
        for index, item in enumerate(items):
            results.append(task(item))
            if progress is not None:
                progress(label, index + 1, len(items))
        return results
    import ray

    _connect(ray_address)
    remote = ray.remote(num_cpus=1)(task)
    pending: dict[Any, int] = {remote.remote(item): index for index, item in enumerate(items)}
    results: list[Any] = [None] * len(items)
    done = 0
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1)
        for reference in finished:
            try:
                results[pending.pop(reference)] = ray.get(reference)
            except ray.exceptions.RayTaskError as error:
                raise error.as_instanceof_cause() from None
            done += 1
            if progress is not None:
                progress(label, done, len(items))
    return results
