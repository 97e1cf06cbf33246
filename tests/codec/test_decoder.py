from pathlib import Path

import numpy as np
import pytest

from vcm.codec import decode, encode
from vcm.errors import InputError


def test_missing_and_non_video(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        decode(tmp_path / "none.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01 definitely not an mp4" * 100)
    with pytest.raises(InputError, match="not a readable video"):
        decode(junk)


def test_truncated_file_is_an_error(tmp_path: Path, frames: np.ndarray) -> None:
    out = tmp_path / "cut.mp4"
    encode(frames[:4], 30, out, fps=10)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 3])  # the moov index at the end is gone
    with pytest.raises(InputError):
        decode(out)


def test_h264_qp_only_for_h264(tmp_path: Path, frames: np.ndarray) -> None:
    out = tmp_path / "a.mp4"
    encode(frames[:2], 30, out, codec="hevc", fps=10)
    decoded = decode(out, keep_frames=False)
    assert decoded.codec == "hevc" and all(frame.qp_map is None for frame in decoded.frames)
