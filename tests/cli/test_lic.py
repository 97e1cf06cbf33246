"""`vcm lic encode/decode` end to end with the shipped model, and the refusals of lic commands."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vcm.cli import main
from vcm.codec import encode
from vcm.codec.decoder import decode


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def hevc_clip(frames: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 256x192 frames of the sample as an HEVC stream."""
    path = tmp_path_factory.mktemp("lic") / "clip.mp4"
    encode(frames[:3, 200:392, 300:556], 30, path, codec="hevc", fps=10)
    return path


def test_image_to_bitstream_to_task_pictures(frames: np.ndarray, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "frame.png"
    Image.fromarray(frames[0]).save(image)
    code, text = _run(capsys, "lic", "encode", str(image), "-o", str(tmp_path / "f.vcml"), "--quality", "1")
    assert code == 0, text
    assert "bits per pixel" in text
    for task in ("human", "detect", "classify"):
        out = tmp_path / f"{task}.png"
        code, text = _run(capsys, "lic", "decode", str(tmp_path / "f.vcml"), "-o", str(out), "--task", task)
        assert code == 0, text
        assert np.asarray(Image.open(out)).shape == frames[0].shape
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "human.png")),
                              np.asarray(Image.open(tmp_path / "detect.png")))
    code, text = _run(capsys, "lic", "decode", str(tmp_path / "f.vcml"), "-o", str(tmp_path / "f.mp4"))
    assert code == 0, text
    assert len(decode(tmp_path / "f.mp4").frames) == 1


def test_video_round_trip_and_post_filter_on_a_standard_stream(hevc_clip: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(capsys, "lic", "encode", str(hevc_clip), "-o", str(tmp_path / "c.vcml"),
                      "--quality", "3")
    assert code == 0, text
    code, text = _run(capsys, "lic", "decode", str(tmp_path / "c.vcml"), "-o", str(tmp_path / "c.mp4"),
                      "--task", "detect")
    assert code == 0, text
    decoded = decode(tmp_path / "c.mp4")
    assert len(decoded.frames) == 3 and (decoded.width, decoded.height) == (256, 192)
    code, text = _run(capsys, "lic", "decode", str(tmp_path / "c.vcml"), "-o", str(tmp_path / "one.png"))
    assert code == 1 and "more than one picture" in text and not (tmp_path / "one.png").exists()
    code, text = _run(capsys, "lic", "decode", str(hevc_clip), "-o", str(tmp_path / "f.mp4"),
                      "--task", "detect")
    assert code == 0, text
    filtered, plain = decode(tmp_path / "f.mp4"), decode(hevc_clip)
    assert len(filtered.frames) == 3
    assert not np.array_equal(filtered.rgb, plain.rgb)


@pytest.mark.parametrize("argv, message", [
    (["encode", "missing.png", "-o", "{tmp}/x.vcml"], "does not exist"),
    (["encode", "{tmp}/junk.png", "-o", "{tmp}/x.vcml"], "not a readable image"),
    (["encode", "{tmp}/junk.png", "-o", "{tmp}/no/x.vcml"], "does not exist"),
    (["decode", "{tmp}/junk.png", "-o", "{tmp}/x.gif"], "must end in .png or .mp4"),
    (["decode", "{tmp}/junk.vcml", "-o", "{tmp}/x.png"], "not a readable video"),
    (["train-base", "--minutes", "5", "--run", "{tmp}/junk.png"], "not a vcm lic checkpoint"),
    (["train-base", "--minutes", "0"], "minutes must be above 0"),
    (["train-base", "--minutes", "nan"], "minutes must be above 0"),
    (["train-base", "--minutes", "5", "--learning-rate", "inf"], "learning-rate must be in (0, 0.01]"),
    (["train-base", "--minutes", "5", "--learning-rate", "0"], "learning-rate must be in (0, 0.01]"),
])
def test_refusals_are_one_line(argv: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.png").write_bytes(b"not an image")
    (tmp_path / "junk.vcml").write_bytes(b"VCMX" + bytes(40))
    code, text = _run(capsys, "lic", *[arg.format(tmp=tmp_path) for arg in argv])
    assert code == 1
    assert message in text and len(text.strip().splitlines()) == 1
    assert not (tmp_path / "x.vcml").exists() and not (tmp_path / "x.png").exists()
