"""Atomic outputs: concurrent writers of one target never share a temporary file."""

import threading
from collections.abc import Callable
from pathlib import Path

from vcm.atomic import atomic_output, temporary_path, write_durably


def run_at_once(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run work(0..count-1) in threads released together; the exceptions they raised."""
    barrier, errors = threading.Barrier(count), []

    def worker(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_each_write_has_its_own_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / "x.mp4"
    names = {temporary_path(target) for _ in range(100)}
    assert len(names) == 100
    assert all(name.name.startswith(".x.mp4.") and name.name.endswith(".part.mp4") for name in names)


def test_threads_writing_one_object_durably_all_succeed(tmp_path: Path) -> None:
    target = tmp_path / "object.bin"
    data = bytes(range(256)) * 4096  # 1 MiB: long enough for the writes to overlap
    for _ in range(5):
        assert run_at_once(8, lambda _: write_durably(target, data, "the object")) == []
        assert target.read_bytes() == data
    assert [path.name for path in tmp_path.iterdir()] == ["object.bin"]


def test_threads_writing_one_output_all_succeed(tmp_path: Path) -> None:
    target = tmp_path / "view.mp4"
    data = b"\1" * (1 << 20)

    def write(_: int) -> None:
        with atomic_output(target) as temporary:
            for start in range(0, len(data), 1 << 16):
                with temporary.open("ab") as handle:
                    handle.write(data[start:start + (1 << 16)])

    for _ in range(5):
        assert run_at_once(6, write) == []
        assert target.read_bytes() == data
    assert [path.name for path in tmp_path.iterdir()] == ["view.mp4"]
