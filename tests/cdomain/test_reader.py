"""The compressed-domain reader against known motion: real sample content panned a known
number of pixels per frame, coded by the project's real H.264 encoder."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vcm.cdomain import read_compressed
from vcm.cli import main
from vcm.codec import encode
from vcm.codec.qpmap import QPMap
from vcm.errors import InputError
from vcm.media import read_video
from vcm.media.video import luma_of

WIDTH, HEIGHT, MARGIN = 320, 240, 40


def _pan(frames: np.ndarray, step_x: int, step_y: int, count: int = 8) -> np.ndarray:
    """(count, HEIGHT, WIDTH, 3): a window over the first frame moving so that the content
    moves by (step_x, step_y) pixels per frame."""
    still = frames[0]
    return np.stack([still[MARGIN - step_y * i: MARGIN - step_y * i + HEIGHT,
                           MARGIN - step_x * i: MARGIN - step_x * i + WIDTH] for i in range(count)])


@pytest.mark.parametrize("step", [(2, 0), (-2, 0), (0, 2)])
def test_a_pan_gives_vectors_of_its_size(frames: np.ndarray, tmp_path: Path, step: tuple[int, int]) -> None:
    video = tmp_path / "pan.mp4"
    encode(_pan(frames, *step), 26, video, codec="h264", gop=32)
    read = list(read_compressed(video))
    assert [f.picture_type for f in read] == ["I"] + ["P"] * 7
    assert read[0].mv.shape == (-(-HEIGHT // 16), -(-WIDTH // 16), 2) and not read[0].mv.any()
    assert not read[0].residual_energy.any()
    for frame in read[1:]:
        inner = frame.mv[2:-2, 2:-2].reshape(-1, 2)  # away from the edges new content enters at
        # source - destination: content that moved +2 px came from 2 px before
        assert np.median(inner[:, 0]) == pytest.approx(-step[0], abs=0.25)
        assert np.median(inner[:, 1]) == pytest.approx(-step[1], abs=0.25)


def test_the_command_writes_types_and_vectors(frames: np.ndarray, tmp_path: Path) -> None:
    video, out = tmp_path / "pan.mp4", tmp_path / "feats.npz"
    encode(_pan(frames, 2, 0), 26, video, codec="h264")
    assert main(["cdomain", str(video), "--out", str(out)]) == 0
    with np.load(out) as features:
        assert features["types"].tolist() == ["I"] + ["P"] * 7
        assert features["mv"].shape == (8, 15, 20, 2) and features["mv"].dtype == np.float32
        assert features["residual_energy"].shape == features["qp"].shape == (8, 15, 20)


def test_the_residual_is_what_motion_compensation_leaves(frames: np.ndarray, tmp_path: Path) -> None:
    video = tmp_path / "pan.mp4"
    encode(_pan(frames, 2, 0), 26, video, codec="h264")
    decoded = read_video(video).frames
    for frame in list(read_compressed(video))[1:]:
        now = luma_of(decoded[frame.index]).astype(float)
        before = luma_of(decoded[frame.index - 1]).astype(float)
        unmoved = np.mean((now - before)[32:-32, 32:-32] ** 2)  # no motion compensation
        inner = float(np.median(frame.residual_energy[2:-2, 2:-2]))
        assert unmoved > 50 and inner < 0.1 * unmoved
        assert frame.residual_energy[:, 0].mean() > inner  # the column new content enters at


def test_streams_without_vectors_and_non_videos_are_refused(frames: np.ndarray, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    hevc = tmp_path / "pan_hevc.mp4"
    encode(_pan(frames, 2, 0), 26, hevc, codec="hevc")
    with pytest.raises(InputError, match=r"hevc.*--codec h264"):
        next(read_compressed(hevc))
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    out = tmp_path / "feats.npz"
    assert main(["cdomain", str(text), "--out", str(out)]) == 1
    assert "not a readable video" in capsys.readouterr().err and not out.exists()
    assert main(["cdomain", str(tmp_path / "missing.mp4"), "--out", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_the_macroblock_qps_are_the_coded_ones(frames: np.ndarray, tmp_path: Path) -> None:
    video = tmp_path / "halves.mp4"
    blocks = np.full((15, 20), 40)
    blocks[:, :10] = 22
    encode(frames[:3, :HEIGHT, :WIDTH], QPMap.from_blocks(blocks), video, codec="h264")
    read = list(read_compressed(video))
    assert all((frame.qp[:, :10] == 22).all() for frame in read)
    assert np.median(read[0].qp[:, 10:]) == 40  # P-frames' skipped blocks carry their predecessor's QP


def test_png_draws_every_frame_with_its_vectors(frames: np.ndarray, tmp_path: Path) -> None:
    video, out, folder = tmp_path / "pan.mp4", tmp_path / "feats.npz", tmp_path / "drawn"
    encode(_pan(frames, 2, 0), 26, video, codec="h264")
    assert main(["cdomain", str(video), "--out", str(out), "--png", str(folder)]) == 0
    pictures = sorted(folder.glob("*.png"))
    assert len(pictures) == 8
    plain = read_video(video).frames
    first, moving = np.asarray(Image.open(pictures[0])), np.asarray(Image.open(pictures[3]))
    # the I-frame has no vectors: only its label differs; a P-frame has lines on most blocks
    assert np.mean(np.any(first != plain[0], axis=2)) < 0.01
    assert np.mean(np.any(moving != plain[3], axis=2)) > 0.02
