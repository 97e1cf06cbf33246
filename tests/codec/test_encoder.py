import subprocess
from pathlib import Path

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode, grid_shape
from vcm.errors import InputError, OutputError
from vcm.media import luma_of
from vcm.media.quality import luma_psnr

CODECS = ["hevc", "h264"]


def _split_map(width: int, height: int, left: int, right: int) -> QPMap:
    rows, cols = grid_shape(width, height)
    blocks = np.full((rows, cols), left)
    blocks[:, cols // 2 :] = right
    return QPMap.from_blocks(blocks)


@pytest.mark.parametrize("codec", CODECS)
def test_block_qp_is_applied(tmp_path: Path, frames: np.ndarray, codec: str) -> None:
    clip = frames[:4]
    height, width = clip.shape[1:3]
    out = tmp_path / "split.mp4"
    encode(clip, _split_map(width, height, 22, 45), out, codec=codec, fps=10)
    decoded = decode(out)
    original = np.stack([luma_of(frame) for frame in clip])
    half = width // 2
    left = luma_psnr(original[:, :, :half], decoded.luma[:, :, :half])
    right = luma_psnr(original[:, :, half:], decoded.luma[:, :, half:])
    assert left - right >= 10, (left, right)


@pytest.mark.parametrize("codec", CODECS)
def test_picture_types_follow_gop_and_forced_intra(tmp_path: Path, frames: np.ndarray,
                                                   codec: str) -> None:
    out = tmp_path / "gop.mp4"
    result = encode(frames, 34, out, codec=codec, gop=4, fps=10, force_intra=[6])
    expected = "IPPPIPIPPPIP"  # I every 4 frames, restarting after the forced I at frame 6
    assert "".join(frame.picture_type for frame in result.frames) == expected
    assert decode(out, keep_frames=False).picture_types() == expected


@pytest.mark.parametrize("codec", CODECS)
def test_default_gop_is_one_i_then_31_p(tmp_path: Path, frames: np.ndarray, codec: str) -> None:
    clip = np.ascontiguousarray(np.concatenate([frames] * 6)[:65, 200:296, 300:428])  # 65 frames, 128x96
    out = tmp_path / "default.mkv"
    result = encode(clip, 30, out, codec=codec, fps=10)  # no gop given
    expected = ("I" + "P" * 31) * 2 + "I"  # no B-frames, an I every 32 frames
    assert "".join(frame.picture_type for frame in result.frames) == expected
    assert decode(out, keep_frames=False).picture_types() == expected


@pytest.mark.parametrize("codec", CODECS)
def test_frame_stats_match_the_stream(tmp_path: Path, frames: np.ndarray, codec: str) -> None:
    out = tmp_path / "stats.mp4"
    result = encode(frames[:6], 30, out, codec=codec, fps=10)
    decoded = decode(out, keep_frames=False)
    assert len(result.frames) == 6
    assert all(frame.mean_qp == 30 for frame in result.frames)
    assert result.frames[0].bytes > result.frames[1].bytes  # the I-frame costs most
    for ours, theirs in zip(result.frames, decoded.frames, strict=True):
        assert abs(ours.bytes - theirs.bytes) <= 8  # MP4 stores NAL length prefixes


def test_h264_macroblock_qp_reads_back(tmp_path: Path, frames: np.ndarray) -> None:
    clip = frames[:3]
    height, width = clip.shape[1:3]
    rows, cols = grid_shape(width, height)
    rng = np.random.default_rng(7)
    # distinct levels at least 3 apart, so x264 never merges a +-1 QP step into its neighbour
    blocks = rng.choice([18, 24, 30, 36], size=(rows, cols))
    out = tmp_path / "mbqp.mp4"
    encode(clip, QPMap.from_blocks(blocks), out, codec="h264", fps=10)
    decoded = decode(out, keep_frames=False)
    for frame in decoded.frames:
        read = frame.qp_map
        assert read is not None and read.shape == (rows, cols)
        # A macroblock without coded residual carries no QP: it repeats its predecessor's.
        predecessor = np.concatenate([[read.ravel()[0]], read.ravel()[:-1]]).reshape(rows, cols)
        uncoded = read != blocks
        assert np.all(read[uncoded] == predecessor[uncoded])
    intra = decoded.frames[0].qp_map
    assert np.mean(intra == blocks) >= 0.9


@pytest.mark.parametrize(("codec", "name"), [("hevc", "a.mp4"), ("h264", "a.mp4"),
                                             ("hevc", "a.hevc"), ("h264", "a.264")])
def test_stock_ffmpeg_decodes_output(tmp_path: Path, frames: np.ndarray, codec: str,
                                     name: str, ffmpeg: str) -> None:
    clip = frames[:5, :403, :721]  # odd size on purpose
    out = tmp_path / name
    encode(clip, _split_map(721, 403, 24, 44), out, codec=codec, gop=3, fps=10)
    result = subprocess.run([ffmpeg, "-v", "error", "-i", str(out), "-f", "null", "-"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    probe = subprocess.run([ffmpeg, "-v", "error", "-i", str(out), "-f", "framemd5", "-"],
                           capture_output=True, text=True, check=True)
    assert sum(1 for line in probe.stdout.splitlines() if not line.startswith("#")) == 5


@pytest.mark.parametrize("codec", CODECS)
def test_odd_size_round_trips(tmp_path: Path, frames: np.ndarray, codec: str) -> None:
    clip = frames[:3, :403, :721]
    out = tmp_path / "odd.mp4"
    encode(clip, QPMap(base=20, blocks=np.full(grid_shape(721, 403), 20)), out, codec=codec, fps=10)
    decoded = decode(out)
    assert decoded.rgb.shape == clip.shape and (decoded.width, decoded.height) == (721, 403)
    assert luma_psnr(np.stack([luma_of(f) for f in clip]), decoded.luma) > 35


def test_failed_encode_leaves_previous_output(tmp_path: Path, frames: np.ndarray) -> None:
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous good file")
    good = QPMap(base=30)
    wrong_shape = QPMap(base=30, blocks=np.full((3, 3), 30))
    with pytest.raises(InputError, match="does not match"):
        encode(frames[:4], [good, good, wrong_shape, good], out, fps=10)
    assert out.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_unwritable_output_directory(tmp_path: Path, frames: np.ndarray) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        encode(frames[:2], 30, tmp_path / "missing" / "out.mp4", fps=10)


def test_raw_suffix_must_match_codec(tmp_path: Path, frames: np.ndarray) -> None:
    with pytest.raises(InputError, match="does not hold"):
        encode(frames[:2], 30, tmp_path / "out.264", codec="hevc", fps=10)


def test_frames_of_changing_size_are_rejected(tmp_path: Path, frames: np.ndarray) -> None:
    mixed = [frames[0], frames[1, :100, :100]]
    with pytest.raises(InputError, match="expected"):
        encode(mixed, 30, tmp_path / "out.mp4", fps=10)
    assert not (tmp_path / "out.mp4").exists()
