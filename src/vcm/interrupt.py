"""Stopping long work on SIGINT (Ctrl-C) or SIGTERM.

A live input stops cleanly: the first signal asks the source to end after the current
frame, so the output is finished and playable; a second signal aborts. A file input
aborts at once (its temporary output is removed); it can simply be run again.
"""

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signal(stop: Callable[[], None] | None) -> Iterator[list[int]]:
    """Inside the block, SIGINT/SIGTERM call `stop()` once (then KeyboardInterrupt on the
    next), or raise KeyboardInterrupt at once when `stop` is None. Yields the list of
    signals received. Outside the main thread it does nothing."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handle(number: int, frame: FrameType | None) -> None:
        received.append(number)
        if stop is None or len(received) > 1:
            raise KeyboardInterrupt
        stop()

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
