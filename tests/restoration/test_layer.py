"""The restoration layer with the real x265/x264: round trips, the byte layout, and refusal of
malformed layers and mismatched machine frames."""

import json
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode
from vcm.errors import InputError
from vcm.restoration import encode_layer, read_layer, restore_frames

BLOCK = 16
FPS = 10.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, computed here on its own (not with the code under test)."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((_luma(a) - _luma(b)) ** 2)))


def _machine_qp(count: int, rows: int, cols: int) -> np.ndarray:
    """A machine stream's plan: a band of 'target' blocks at QP 30-34, the rest at 51."""
    qp = np.full((count, rows, cols), 51, np.int16)
    qp[:, rows // 3 : 2 * rows // 3, cols // 4 : 3 * cols // 4] = 34
    qp[:, rows // 3 + 1 : 2 * rows // 3 - 1, cols // 3 : 2 * cols // 3] = 30
    return qp


@pytest.fixture(scope="module")
def segment(frames: np.ndarray, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(originals, machine QPs, decoded machine frames): 10 frames of the sample at 384x288 and
    a real HEVC machine stream of them coded with the band plan."""
    clip = frames[:10].reshape(10, 288, 2, 384, 2, 3).mean(axis=(2, 4)).round().astype(np.uint8)
    qp = _machine_qp(10, 288 // BLOCK, 384 // BLOCK)
    path = tmp_path_factory.mktemp("machine") / "machine.mp4"
    encode(clip, [QPMap.from_blocks(q) for q in qp], path, fps=FPS)
    decoded = decode(path).rgb
    assert decoded is not None
    return clip, qp, decoded


@pytest.fixture(scope="module")
def layer(segment: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bytes:
    clip, qp, decoded = segment
    return encode_layer(clip, qp, fps=FPS, quality=30, machine_decoded=decoded)


def _parts(layer: bytes) -> tuple[dict[str, object], bytes, bytes]:
    """The documented layout read by hand: 8-byte magic, version byte, 4-byte big-endian
    header length, JSON header, then the video and mask parts."""
    magic, version, length = struct.unpack(">8sBI", layer[:13])
    assert (magic, version) == (b"VCMLAYER", 1)
    header = json.loads(layer[13 : 13 + length])
    sizes = [part["bytes"] for part in header["parts"]]
    video = layer[13 + length : 13 + length + sizes[0]]
    mask = layer[13 + length + sizes[0] :]
    assert len(mask) == sizes[1]
    return header, video, mask


def test_complement_restores_far_above_the_machine_stream(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray], layer: bytes) -> None:
    clip, _, decoded = segment
    restored = np.stack(list(restore_frames(decoded, layer)))
    assert restored.shape == clip.shape and restored.dtype == np.uint8
    machine_psnr, restored_psnr = _psnr(clip, decoded), _psnr(clip, restored)
    assert restored_psnr >= machine_psnr + 6, (machine_psnr, restored_psnr)
    assert restored_psnr >= 34, restored_psnr
    # the layer is far smaller than the frames it restores
    assert len(layer) < clip.nbytes / 50


def test_every_block_is_at_least_as_close_as_the_machine_block(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray], layer: bytes) -> None:
    clip, _, decoded = segment
    for original, machine, restored in zip(clip, decoded, restore_frames(decoded, layer), strict=True):
        def block_error(frame: np.ndarray, original: np.ndarray = original) -> np.ndarray:
            squared = (_luma(frame) - _luma(original)) ** 2
            return squared.reshape(288 // BLOCK, BLOCK, 384 // BLOCK, BLOCK).sum(axis=(1, 3))

        ours, theirs = block_error(restored), block_error(machine)
        assert np.all(ours <= theirs * 1.001 + 1)  # (float32 rounding where the two nearly tie)
        assert np.mean(ours < theirs * 0.5) > 0.5  # and most blocks are much closer


@pytest.mark.parametrize(("method", "decoded_given", "selection"), [
    ("simulcast", False, "all"), ("residual", True, "measured"), ("complement", False, "qp")])
def test_each_method_round_trips(segment: tuple[np.ndarray, np.ndarray, np.ndarray], method: str,
                                 decoded_given: bool, selection: str) -> None:
    clip, qp, decoded = segment
    layer = encode_layer(clip, qp, fps=FPS, method=method, quality=30,
                         machine_decoded=decoded if decoded_given else None)
    info = read_layer(layer)
    assert (info.method, info.frames, info.width, info.height, info.codec, info.quality, info.selection) == (
        method, 10, 384, 288, "hevc", 30, selection)
    assert (info.mask_bytes == 0) == (selection == "all")
    restored = np.stack(list(restore_frames(iter(list(decoded)), layer)))
    assert _psnr(clip, restored) >= _psnr(clip, decoded) + 5


def test_header_and_parts_follow_the_documented_layout(layer: bytes) -> None:
    header, video, mask = _parts(layer)
    info = read_layer(layer)
    assert header["method"] == info.method == "complement"
    assert (header["frames"], header["width"], header["height"]) == (10, 384, 288)
    assert info.total_bytes == len(layer) and info.video_bytes == len(video) and info.mask_bytes == len(mask)
    assert video[:4] == b"\x00\x00\x00\x01"  # Annex-B start code


def test_stock_ffmpeg_decodes_the_video_part(layer: bytes, tmp_path: Path, ffmpeg: str) -> None:
    _, video, _ = _parts(layer)
    (tmp_path / "layer.hevc").write_bytes(video)
    result = subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "layer.hevc"), "-f", "framemd5",
                             "-"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert sum(1 for line in result.stdout.splitlines() if not line.startswith("#")) == 10


def test_h264_layers_and_odd_sizes(frames: np.ndarray) -> None:
    clip = np.ascontiguousarray(frames[:4, 100:221, 200:401])  # 201x121: partial blocks, odd size
    qp = np.full((4, 8, 13), 51, np.int16)
    machine = (clip // 64 * 64 + 32).astype(np.uint8)  # a coarse stand-in for a decoded machine frame
    layer = encode_layer(clip, qp, fps=FPS, quality=28, codec="h264")
    info = read_layer(layer)
    assert (info.codec, info.width, info.height, info.frames) == ("h264", 201, 121, 4)
    restored = np.stack(list(restore_frames(machine, layer)))
    assert restored.shape == clip.shape
    assert _psnr(clip, restored) >= _psnr(clip, machine) + 8


def _bad_layers(layer: bytes) -> dict[str, bytes]:
    header, video, mask = _parts(layer)
    length = struct.unpack(">I", layer[9:13])[0]
    flipped = bytearray(layer)
    flipped[13 + length + len(video) // 2] ^= 0x10

    def rebuilt(new_header: dict[str, object], video: bytes = video) -> bytes:
        text = json.dumps(new_header).encode()
        return layer[:9] + struct.pack(">I", len(text)) + text + video + mask

    return {
        "empty": b"",
        "prefix cut": layer[:7],
        "header cut": layer[: 13 + length // 2],
        "video cut": layer[: 13 + length + len(video) // 2],
        "last byte cut": layer[:-1],
        "byte added": layer + b"\x00",
        "garbage": bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)),
        "wrong magic": b"VCMLAYEX" + layer[8:],
        "mp4 file": b"\x00\x00\x00\x20ftypisom" + layer[12:],
        "version 2": layer[:8] + b"\x02" + layer[9:],
        "header not json": layer[:13] + b"{" * length + layer[13 + length :],
        "bit flip in video": bytes(flipped),
        "unknown method": rebuilt({**header, "method": "magic"}),
        "frames not int": rebuilt({**header, "frames": "10"}),
        "negative size": rebuilt({**header, "width": -384}),
        "parts missing": rebuilt({k: v for k, v in header.items() if k != "parts"}),
        "video replaced by garbage with matching checksum": rebuilt(
            {**header, "parts": [{"name": "video", "bytes": 3000,
                                  "crc32": zlib.crc32(b"\x00\x00\x01" + b"\x55" * 2997)},
                                 header["parts"][1]]},  # type: ignore[index]
            video=b"\x00\x00\x01" + b"\x55" * 2997),
        "frames more than coded": rebuilt({**header, "frames": 12}),
    }


BAD_CASES = ["empty", "prefix cut", "header cut", "video cut", "last byte cut", "byte added", "garbage",
             "wrong magic", "mp4 file", "version 2", "header not json", "bit flip in video", "unknown method",
             "frames not int", "negative size", "parts missing",
             "video replaced by garbage with matching checksum", "frames more than coded"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_read_layer_refuses_malformed_layers(layer: bytes, case: str) -> None:
    bad = _bad_layers(layer)[case]
    with pytest.raises(InputError) as error:
        read_layer(bad)
    assert "\n" not in str(error.value) and str(error.value)


def test_restore_refuses_a_malformed_layer(segment: tuple[np.ndarray, np.ndarray, np.ndarray],
                                          layer: bytes) -> None:
    _, _, decoded = segment
    with pytest.raises(InputError, match="magic"):
        restore_frames(decoded, b"XXXXXXXX" + layer[8:])
    with pytest.raises(InputError, match="truncated"):
        restore_frames(decoded, layer[:-100])


@pytest.mark.parametrize("count", [9, 11, 0])
def test_restore_refuses_the_wrong_number_of_machine_frames(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray], layer: bytes, count: int) -> None:
    _, _, decoded = segment
    machine = np.concatenate([decoded, decoded])[:count]
    with pytest.raises(InputError, match="machine frames"):
        restore_frames(machine, layer)  # a sized input is refused at once
    with pytest.raises(InputError, match="machine frames"):
        list(restore_frames(iter(list(machine)), layer))  # a stream as soon as the count is known


def test_restore_refuses_machine_frames_of_another_size(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray], layer: bytes) -> None:
    _, _, decoded = segment
    with pytest.raises(InputError, match="384x288"):
        list(restore_frames(decoded[:, :144, :192], layer))
    with pytest.raises(InputError, match="384x288"):
        list(restore_frames(decoded.astype(np.float32), layer))


def test_encode_layer_refuses_bad_input(segment: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    clip, qp, decoded = segment
    cases = [
        dict(machine_qp=qp[:, :-1]),  # wrong grid
        dict(machine_qp=qp[:-1]),  # wrong frame count
        dict(machine_qp=qp.astype(np.float32)),
        dict(machine_qp=qp + 10),  # QPs above 51
        dict(method="residual"),  # needs the decoded machine frames
        dict(method="nope"),
        dict(quality=60),
        dict(machine_decoded=decoded[:, :100]),
        dict(originals=clip.astype(np.float32)),
        dict(fps=0.0),
        dict(codec="vp9"),
    ]
    for case in cases:
        arguments = {"originals": clip, "machine_qp": qp, "fps": FPS, **case}
        with pytest.raises(InputError):
            encode_layer(**arguments)  # type: ignore[arg-type]
