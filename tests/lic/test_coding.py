"""The shipped model codes real frames to real bitstreams and back, the same way every time."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vcm.errors import InputError
from vcm.lic.coding import LearnedCodec
from vcm.lic.train import parameter_count
from vcm.media.quality import luma_psnr


@pytest.fixture(scope="module")
def codec() -> LearnedCodec:
    return LearnedCodec.load()


def test_every_quality_round_trips_through_a_file(codec: LearnedCodec, frames: np.ndarray,
                                                  tmp_path: Path) -> None:
    sizes, quality_db = [], []
    for quality in range(1, codec.qualities + 1):
        path = tmp_path / f"q{quality}.vcml"
        assert codec.encode_file(frames[:2], path, quality) == 2
        first = list(codec.decode_file(path))
        second = list(codec.decode_file(path))
        assert len(first) == 2 and first[0].shape == frames[0].shape and first[0].dtype == np.uint8
        assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
        sizes.append(path.stat().st_size)
        quality_db.append(luma_psnr(frames[0], first[0]))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert quality_db == sorted(quality_db)
    assert quality_db[0] > 24.0 and quality_db[-1] > 30.0
    assert sizes[-1] < frames[0].size // 2  # 2 frames at the top quality: under 2 bits per pixel


def test_a_second_process_decodes_the_same_picture(codec: LearnedCodec, frames: np.ndarray,
                                                   tmp_path: Path) -> None:
    path, out = tmp_path / "f.vcml", tmp_path / "f.png"
    codec.encode_file(frames[:1], path, 2)
    subprocess.run([sys.executable, "-m", "vcm.cli", "lic", "decode", str(path), "-o", str(out),
                    "--task", "detect"], check=True, capture_output=True)
    expected = next(codec.decode_file(path, "detect"))
    assert np.array_equal(np.asarray(Image.open(out)), expected)


def test_task_pictures_differ_from_the_human_one_but_show_the_scene(codec: LearnedCodec, frames: np.ndarray,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "f.vcml"
    codec.encode_file(frames[:1], path, 3)
    human = next(codec.decode_file(path, "human"))
    for task in ("detect", "classify"):
        picture = next(codec.decode_file(path, task))
        assert not np.array_equal(picture, human)
        assert luma_psnr(frames[0], picture) > 20.0


def test_odd_sizes_round_trip(codec: LearnedCodec, frames: np.ndarray, tmp_path: Path) -> None:
    odd = frames[0][:403, :721]
    path = tmp_path / "odd.vcml"
    codec.encode_file([odd], path, 4)
    header = codec.open_file(path)
    assert (header.width, header.height) == (721, 403)
    decoded = next(codec.decode_file(path))
    assert decoded.shape == odd.shape and luma_psnr(odd, decoded) > 28.0


def test_adapters_are_light_next_to_the_base(codec: LearnedCodec) -> None:
    model = codec.model
    base = parameter_count([model.codec])
    assert all(parameter_count([adapter]) <= 0.05 * base for adapter in model.decoder_adapters.values())
    assert parameter_count([model.encoder_adapter]) + max(
        parameter_count([adapter]) for adapter in model.decoder_adapters.values()) <= 0.1 * base


def test_damage_and_mistakes_are_named(codec: LearnedCodec, frames: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "f.vcml"
    codec.encode_file(frames[:1], path, 2)
    data = path.read_bytes()
    (tmp_path / "cut.vcml").write_bytes(data[:-5])
    with pytest.raises(InputError, match="truncated"):
        list(codec.decode_file(tmp_path / "cut.vcml"))
    garbled = data[:40] + bytes([0xFF]) * (len(data) - 40)
    (tmp_path / "garbled.vcml").write_bytes(garbled)
    with pytest.raises(InputError, match="corrupt learned-codec frame"):
        list(codec.decode_file(tmp_path / "garbled.vcml"))
    other = bytearray(data)
    other[16:24] = bytes(8)
    (tmp_path / "other.vcml").write_bytes(bytes(other))
    with pytest.raises(InputError, match="another model"):
        list(codec.decode_file(tmp_path / "other.vcml"))
    with pytest.raises(InputError, match=r"quality must be 1\.\.7"):
        codec.encode_file(frames[:1], tmp_path / "q.vcml", 8)
    with pytest.raises(InputError, match="no frames"):
        codec.encode_file([], tmp_path / "none.vcml", 2)
    with pytest.raises(InputError, match="not 768x576"):
        codec.encode_file([frames[0], frames[1][:64, :64]], tmp_path / "mixed.vcml", 2)
    with pytest.raises(InputError, match="unknown task"):
        list(codec.decode_file(path, "pose"))
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"f.vcml", "cut.vcml", "garbled.vcml", "other.vcml"}  # no half-written output
