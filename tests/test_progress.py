"""Progress in a log: a line every 10 s, none for short work."""

import pytest

from vcm import progress
from vcm.progress import LogProgress


def test_a_log_gets_a_line_every_interval_and_one_at_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    log = LogProgress(clock=lambda: now[0])
    task = log.add_task("encode", total=100)
    for step in range(1, 101):
        now[0] = step * 0.5  # 50 s in all
        log.advance(task)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["encode: 20/100 (10 s)", "encode: 40/100 (20 s)", "encode: 60/100 (30 s)",
                     "encode: 80/100 (40 s)", "encode: 100/100 (50 s)"]


def test_short_work_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    log = LogProgress(clock=lambda: now[0])
    task = log.add_task("detect", total=None)
    for step in range(20):
        now[0] = step * 0.1
        log.update(task, completed=step + 1)
    assert capsys.readouterr().err == ""


def test_progress_bar_logs_when_stderr_is_not_a_terminal() -> None:
    with progress.progress_bar() as bar:  # pytest captures stderr: not a terminal
        assert isinstance(bar, LogProgress)
