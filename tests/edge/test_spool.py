"""The agent's spool: complete segments only, state that survives a crash."""

from pathlib import Path

from vcm.edge.spool import Spool, SpoolState


def test_segments_round_trip_through_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "cam")
    spool.add(0, 100.0, 0, 32, 10.0, {"machine": b"m0", "detections": b"[]"})
    spool.add(1, 103.2, 32, 32, 10.0, {"machine": b"m1", "detections": b"[]", "restoration": b"r1"})
    first, second = spool.pending()
    assert (first.seq, first.start, first.frames, first.parts()) == (0, 100.0, 32, ["machine", "detections"])
    assert second.parts() == ["machine", "detections", "restoration"]
    assert second.part("restoration").read_bytes() == b"r1"
    spool.mark_sent(second, "machine")
    assert spool.pending()[1].sent == ["machine"]
    spool.remove(first)
    rejected = spool.reject(spool.pending()[0], "422: not a video")
    assert spool.pending() == [] and (rejected / "machine").read_bytes() == b"m1"
    assert (rejected / "reason.txt").read_text() == "422: not a video\n"
    assert spool.requeue_rejected() == 1 and spool.requeue_rejected() == 0
    (again,) = spool.pending()
    assert (again.seq, again.sent) == (1, ["machine"])
    assert again.parts() == ["machine", "detections", "restoration"]
    assert not again.part("reason.txt").exists()


def test_state_is_consistent_after_a_crash(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "cam")
    spool.save_state(SpoolState(source="a.mp4", frames=32, next_seq=1, epoch=5.0))
    spool.add(1, 8.2, 32, 32, 10.0, {"machine": b"m"})  # written, then killed before the state was saved
    (tmp_path / "cam" / ".0000000002.part").mkdir()  # a segment being written when killed
    (tmp_path / "cam" / ".0000000002.part" / "machine").write_bytes(b"half")
    reopened = Spool(tmp_path, "cam")
    state = reopened.state()
    assert (state.source, state.frames, state.next_seq, state.epoch) == ("a.mp4", 64, 2, 5.0)
    assert not (tmp_path / "cam" / ".0000000002.part").exists()
    assert [segment.seq for segment in reopened.pending()] == [1]
