"""The session reproduces the final stream exactly, also after coding a frame again."""

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode, grid_shape
from vcm.codec.session import StreamSession
from vcm.errors import InputError


@pytest.mark.parametrize("codec", ["hevc", "h264"])
def test_session_pictures_are_the_decoded_stream(frames: np.ndarray, tmp_path, codec: str) -> None:
    clip = frames[:10, :240, :320]
    rows, cols = grid_shape(320, 240)
    maps = [np.random.default_rng(index).integers(24, 51, size=(rows, cols)) for index in range(10)]
    stream = decode(encode(clip, [QPMap.from_blocks(m) for m in maps], tmp_path / "a.mkv", codec=codec,
                           gop=4).path).rgb
    session = StreamSession(320, 240, codec, gop=4)
    coded = [session.code(frame, blocks) for frame, blocks in zip(clip, maps, strict=True)]
    assert [c.picture_type for c in coded] == list("IPPPIPPPIP")
    assert all(np.array_equal(c.rgb, expected) for c, expected in zip(coded, stream, strict=True))
    assert all(c.bytes > 0 for c in coded)


def test_recode_replaces_the_last_frame(frames: np.ndarray, tmp_path) -> None:
    clip = frames[:6, :240, :320]
    rows, cols = grid_shape(320, 240)
    first, second = np.full((rows, cols), 40), np.full((rows, cols), 24)
    session = StreamSession(320, 240, gop=4)
    for frame in clip[:5]:
        session.code(frame, first)
    recoded = session.recode(clip[4], second)  # frame 4 starts the second GOP: nothing to replay
    assert recoded.picture_type == "I" and session.replays == 0
    session.code(clip[5], first)
    recoded = session.recode(clip[5], second)
    assert session.replays == 1
    maps = [QPMap.from_blocks(m) for m in (first, first, first, first, second, second)]
    stream = decode(encode(clip, maps, tmp_path / "b.mkv", gop=4).path).rgb
    assert np.array_equal(recoded.rgb, stream[5])
    assert session.code(clip[0], first).picture_type == "P"  # the stream goes on after a recode


def test_wrong_map_shape(frames: np.ndarray) -> None:
    with pytest.raises(InputError, match="does not match"):
        StreamSession(320, 240).code(frames[0, :240, :320], np.full((3, 3), 30))
