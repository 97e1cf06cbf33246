"""The restoration layer object: build it from a segment, read it, restore frames with it.

Layout (one self-describing bytes blob): MAGIC (8 bytes), VERSION (1 byte), the header's
length (4 bytes, big-endian), the header (UTF-8 JSON), then the parts the header lists
in order, each with its length and CRC-32: "video" (a raw Annex-B HEVC/H.264 stream, one
GOP) and "mask" (which 16x16 block of each frame the restore takes from the layer: one
bit per block, each frame XOR the previous one, np.packbits, zlib; empty when every
block comes from the layer).
"""

import json
import math
import struct
import zlib
from collections.abc import Iterable, Iterator, Sized
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vcm.codec.options import MAX_SIDE
from vcm.codec.qpmap import QP_MAX, QP_MIN, grid_shape
from vcm.errors import InputError
from vcm.restoration.methods import blocks_to_pixels
from vcm.restoration.registry import ADD, ALL, METHODS, MethodEntry, Segment, method_entry
from vcm.restoration.stream import RAW_MUXERS, decode_stream, encode_stream

MAGIC = b"VCMLAYER"
VERSION = 1
_PREFIX = struct.Struct(">8sBI")
MAX_HEADER = 1 << 16
PARTS = ("video", "mask")
LUMA_WEIGHTS = np.array([65.481, 128.553, 24.966], np.float32) / 255  # RGB -> Y', BT.601 limited range
# How the block mask was chosen: errors measured against decoded machine frames, by QP,
# or none (every block from the layer).
MEASURED, BY_QP, NO_MASK = "measured", "qp", "all"
# By QP: a block comes from the layer where the layer last coded it at a finer QP than the
# machine stream's and the picture the layer holds there is still within this mean squared
# luma error of the original (a held block goes stale when its content moves). Chosen on the
# validation part of the sample (docs/benchmarks.md): 20-40 restore the same PSNR.
HELD_MSE = 30.0

DEFAULT_METHOD = "complement"
DEFAULT_QUALITY = METHODS[DEFAULT_METHOD].default_quality


@dataclass(frozen=True)
class LayerInfo:
    """A layer's header: method and quality (its layer QP) it was made with, frames,
    picture size, codec of its video part, fps, how its block mask was chosen
    (MEASURED, BY_QP or NO_MASK), and the bytes of each part and in all."""

    method: str
    frames: int
    width: int
    height: int
    codec: str
    quality: int
    fps: float
    selection: str
    video_bytes: int
    mask_bytes: int
    total_bytes: int


# ---- building -------------------------------------------------------------------------

def encode_layer(originals: np.ndarray, machine_qp: np.ndarray, *, fps: float, method: str = DEFAULT_METHOD,
                 quality: int = DEFAULT_QUALITY, machine_decoded: np.ndarray | None = None,
                 codec: str = "hevc", config: Any = None) -> bytes:
    """The restoration layer (bytes, for the cold tier) of one segment.

    originals: (n, H, W, 3) uint8 RGB; machine_qp: (n, rows, cols) int block QPs of the
    segment's machine stream (rows, cols = vcm.codec.grid_shape(W, H)); machine_decoded:
    the machine stream's decoded frames, (n, H, W, 3) uint8 RGB; `residual` needs them,
    and with them `complement` picks each block by measured error instead of by QP (about
    5 % fewer bytes at the same PSNR on the sample). quality: the layer's QP (0..51, lower
    is finer); codec: 'hevc' or 'h264'; config: the method's config (its registered
    default if None).
    InputError for arrays of the wrong shape or type, an unknown method or a bad option.
    """
    entry = method_entry(method)
    segment = _segment(originals, machine_qp, machine_decoded, fps)
    if entry.needs_decoded and machine_decoded is None:
        raise InputError(f"restoration method {method!r} needs the decoded machine frames (machine_decoded)")
    if not isinstance(quality, int | np.integer) or isinstance(quality, bool) or not (
            QP_MIN <= quality <= QP_MAX):
        raise InputError(f"layer quality must be an integer QP in {QP_MIN}..{QP_MAX}, got {quality!r}")
    if codec not in RAW_MUXERS:
        raise InputError(f"unknown layer codec {codec!r}; choose from {', '.join(RAW_MUXERS)}")
    quality = int(quality)
    built = entry.make(config)
    count, height, width = segment.originals.shape[:3]
    blind = entry.selection != ALL and machine_decoded is None
    by_qp = np.empty(segment.machine_qp.shape, bool)

    def inputs() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        held_qp = np.full(segment.machine_qp.shape[1:], QP_MAX + 1)  # a block at QP 51 is held, not coded
        limit = HELD_MSE * _block_pixels(width, height)
        for index, (frame, blocks) in enumerate(built.layer_inputs(segment, quality)):
            if blind:
                held_qp = np.where(blocks < QP_MAX, blocks, held_qp)
                fresh = block_errors(frame, segment.originals[index]) <= limit
                by_qp[index] = (held_qp < segment.machine_qp[index]) & fresh
            yield frame, blocks

    video = encode_stream(inputs(), width=width, height=height, count=count, codec=codec, fps=fps)
    if entry.selection == ALL:
        selection, mask = NO_MASK, b""
    elif segment.machine_decoded is not None:
        selection = MEASURED
        mask = pack_mask(_measured_mask(entry, segment, decode_stream(video, codec, width, height)))
    else:
        selection, mask = BY_QP, pack_mask(by_qp)
    header = {"method": method, "quality": quality, "frames": count, "width": width, "height": height,
              "codec": codec, "fps": float(fps), "selection": selection,
              "config": asdict(built.config),
              "parts": [_part("video", video), _part("mask", mask)]}
    text = json.dumps(header, sort_keys=True).encode()
    return _PREFIX.pack(MAGIC, VERSION, len(text)) + text + video + mask


def _segment(originals: np.ndarray, machine_qp: np.ndarray, machine_decoded: np.ndarray | None,
             fps: float) -> Segment:
    originals = np.asarray(originals)
    if originals.ndim != 4 or originals.shape[-1] != 3 or originals.dtype != np.uint8 or not len(originals):
        raise InputError(f"originals must be (n, H, W, 3) uint8 RGB with n >= 1, got {originals.shape} "
                         f"{originals.dtype}")
    count, height, width = originals.shape[:3]
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise InputError(f"frames of {width}x{height} cannot be coded (16..{MAX_SIDE} pixels a side)")
    machine_qp = np.asarray(machine_qp)
    grid = grid_shape(width, height)
    if machine_qp.shape != (count, *grid):
        raise InputError(f"machine QPs have shape {machine_qp.shape}; {count} frames of {width}x{height} "
                         f"need ({count}, {grid[0]}, {grid[1]})")
    if not np.issubdtype(machine_qp.dtype, np.integer):
        raise InputError(f"machine QPs must be integers, got {machine_qp.dtype}")
    if machine_qp.min() < QP_MIN or machine_qp.max() > QP_MAX:
        raise InputError(f"machine QPs must be in {QP_MIN}..{QP_MAX}, "
                         f"got {machine_qp.min()}..{machine_qp.max()}")
    if machine_decoded is not None:
        machine_decoded = np.asarray(machine_decoded)
        if machine_decoded.shape != originals.shape or machine_decoded.dtype != np.uint8:
            raise InputError(f"decoded machine frames are {machine_decoded.shape} {machine_decoded.dtype}, "
                             f"the originals {originals.shape} uint8")
    if not (isinstance(fps, int | float) and math.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be positive and finite, got {fps!r}")
    return Segment(originals, machine_qp.astype(np.int16), machine_decoded, float(fps))


def _part(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "bytes": len(data), "crc32": zlib.crc32(data)}


def block_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(rows, cols) summed squared luma differences of two (H, W, 3) uint8 RGB frames, per
    16x16 block (partial blocks at the edges count their pixels). Luma as the encoder
    sees it (BT.601, limited range), without rounding."""
    difference = (a.astype(np.float32) - b) @ LUMA_WEIGHTS
    height, width = difference.shape
    rows, cols = grid_shape(width, height)
    padded = np.zeros((rows * 16, cols * 16), np.float32)
    padded[:height, :width] = difference * difference
    return padded.reshape(rows, 16, cols, 16).sum(axis=(1, 3), dtype=np.float64)


def _block_pixels(width: int, height: int) -> np.ndarray:
    """(rows, cols) pixels in each 16x16 block (fewer at the right and bottom edges)."""
    rows, cols = grid_shape(width, height)
    return np.outer(np.minimum(16, height - 16 * np.arange(rows)),
                    np.minimum(16, width - 16 * np.arange(cols)))


def _measured_mask(entry: MethodEntry, segment: Segment, layer: Iterable[np.ndarray | None]) -> np.ndarray:
    """Per frame and block: the layer's candidate is closer to the original than the machine frame."""
    assert segment.machine_decoded is not None
    masks = []
    for original, machine, decoded in zip(segment.originals, segment.machine_decoded, layer, strict=True):
        assert decoded is not None
        candidate = _candidate(entry, machine, decoded)
        masks.append(block_errors(candidate, original) < block_errors(machine, original))
    return np.stack(masks)


def _candidate(entry: MethodEntry, machine: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    if entry.combine == ADD:
        return np.clip(machine.astype(np.int16) + decoded - 128, 0, 255).astype(np.uint8)
    return decoded


def pack_mask(mask: np.ndarray) -> bytes:
    """(n, rows, cols) bool -> bytes: each frame XOR the previous one, packbits, zlib."""
    mask = np.asarray(mask, bool)
    changes = mask.copy()
    changes[1:] ^= mask[:-1]
    return zlib.compress(np.packbits(changes).tobytes(), 9)


def unpack_mask(data: bytes, frames: int, rows: int, cols: int) -> np.ndarray:
    """pack_mask undone; InputError when the data is not a mask of that shape."""
    try:
        packed = zlib.decompress(data)
    except zlib.error:
        raise InputError("the layer's block mask is corrupt (not zlib data)") from None
    if len(packed) != -(-frames * rows * cols // 8):
        raise InputError(f"the layer's block mask holds {len(packed)} bytes, not a mask of {frames} "
                         f"frames of {rows}x{cols} blocks")
    changes = np.unpackbits(np.frombuffer(packed, np.uint8))[: frames * rows * cols]
    return np.logical_xor.accumulate(changes.reshape(frames, rows, cols).astype(bool), axis=0)


# ---- reading ----------------------------------------------------------------------------

def _unpack(layer: bytes) -> tuple[LayerInfo, dict[str, bytes]]:
    """The header and parts of a layer, checked (all but decoding the video)."""
    if not isinstance(layer, bytes | bytearray | memoryview):
        raise InputError(f"a restoration layer is bytes, got {type(layer).__name__}")
    layer = bytes(layer)
    if len(layer) < _PREFIX.size:
        raise InputError(f"restoration layer truncated: {len(layer)} bytes, shorter than its "
                         f"{_PREFIX.size}-byte prefix")
    magic, version, length = _PREFIX.unpack_from(layer)
    if magic != MAGIC:
        raise InputError(f"not a vcm restoration layer (wrong magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise InputError(f"restoration layer version {version} is not supported (this vcm reads {VERSION})")
    if length > MAX_HEADER or _PREFIX.size + length > len(layer):
        raise InputError(f"restoration layer truncated or bad: header of {length} bytes, "
                         f"{len(layer) - _PREFIX.size} bytes follow the prefix")
    try:
        header = json.loads(layer[_PREFIX.size:_PREFIX.size + length].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"restoration layer header is not JSON ({error})") from None
    info_fields, parts = _check_header(header)
    offset = _PREFIX.size + length
    data: dict[str, bytes] = {}
    for part in parts:
        chunk = layer[offset:offset + part["bytes"]]
        if len(chunk) != part["bytes"]:
            raise InputError(f"restoration layer truncated: its {part['name']} part has {len(chunk)} of "
                             f"{part['bytes']} bytes")
        if zlib.crc32(chunk) != part["crc32"]:
            raise InputError(f"restoration layer corrupt: its {part['name']} part fails its checksum")
        data[part["name"]] = chunk
        offset += part["bytes"]
    if offset != len(layer):
        raise InputError(f"restoration layer has {len(layer) - offset} bytes beyond its parts")
    if info_fields["selection"] == NO_MASK and data["mask"]:
        raise InputError("restoration layer bad: a mask part with selection 'all'")
    info = LayerInfo(**info_fields, video_bytes=len(data["video"]), mask_bytes=len(data["mask"]),
                     total_bytes=len(layer))
    return info, data


def _check_header(header: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    def bad(reason: str) -> InputError:
        return InputError(f"restoration layer header bad: {reason}")

    if not isinstance(header, dict):
        raise bad("not a JSON object")
    fields: dict[str, Any] = {}
    for key, kind in (("method", str), ("frames", int), ("width", int), ("height", int), ("codec", str),
                      ("quality", int), ("fps", float), ("selection", str)):
        value = header.get(key)
        if kind is float and type(value) is int:
            value = float(value)
        if type(value) is not kind:
            raise bad(f"{key} is {value!r}, expected {kind.__name__}")
        fields[key] = value
    if fields["method"] not in METHODS:
        raise bad(f"unknown method {fields['method']!r} (this vcm knows {', '.join(METHODS)})")
    if fields["frames"] < 1 or not (16 <= fields["width"] <= MAX_SIDE and 16 <= fields["height"] <= MAX_SIDE):
        raise bad(f"{fields['frames']} frames of {fields['width']}x{fields['height']}")
    if fields["codec"] not in RAW_MUXERS:
        raise bad(f"codec {fields['codec']!r}")
    if not QP_MIN <= fields["quality"] <= QP_MAX or not (math.isfinite(fields["fps"]) and fields["fps"] > 0):
        raise bad(f"quality {fields['quality']} or fps {fields['fps']}")
    if fields["selection"] not in (MEASURED, BY_QP, NO_MASK):
        raise bad(f"selection {fields['selection']!r}")
    parts = header.get("parts")
    if not isinstance(parts, list) or [p.get("name") if isinstance(p, dict) else None for p in parts] != list(
            PARTS):
        raise bad(f"parts must be {', '.join(PARTS)}")
    for part in parts:
        if not all(type(part.get(key)) is int and part[key] >= 0 for key in ("bytes", "crc32")):
            raise bad(f"part {part['name']} has no valid bytes/crc32")
    return fields, parts


def read_layer(layer: bytes) -> LayerInfo:
    """Check a layer object (magic, version, header, parts' lengths and checksums, block
    mask, and that its video part decodes to `frames` pictures of the header's size) and
    return its header. InputError with a one-line reason for anything malformed."""
    info, parts = _unpack(layer)
    if info.selection != NO_MASK:
        rows, cols = grid_shape(info.width, info.height)
        unpack_mask(parts["mask"], info.frames, rows, cols)
    count = sum(1 for _ in decode_stream(parts["video"], info.codec, info.width, info.height, rgb=False))
    if count != info.frames:
        raise InputError(f"the layer's video part decodes to {count} frames, the header says {info.frames}")
    return info


# ---- restoring --------------------------------------------------------------------------

def restore_frames(machine: Iterable[np.ndarray], layer: bytes) -> Iterator[np.ndarray]:
    """Restored (H, W, 3) uint8 RGB frames of a segment from its decoded machine-stream frames
    (in order) and its layer, one at a time. The layer is checked at once (not its video,
    which decodes as frames are asked for); InputError when the machine frames are not
    the layer's number (found as soon as it can be: at once for a sized input) or size."""
    info, parts = _unpack(layer)
    entry = method_entry(info.method)
    rows, cols = grid_shape(info.width, info.height)
    mask = unpack_mask(parts["mask"], info.frames, rows, cols) if info.selection != NO_MASK else None
    if isinstance(machine, Sized) and len(machine) != info.frames:
        raise InputError(f"{len(machine)} machine frames given for a layer of {info.frames}")
    return _restore(iter(machine), info, entry, parts["video"], mask)


def _restore(machine: Iterator[np.ndarray], info: LayerInfo, entry: MethodEntry, video: bytes,
             mask: np.ndarray | None) -> Iterator[np.ndarray]:
    layer = decode_stream(video, info.codec, info.width, info.height)
    shape = (info.height, info.width, 3)
    count = 0
    for frame in machine:
        frame = np.asarray(frame)
        if count >= info.frames:
            raise InputError(f"more machine frames than the layer's {info.frames}")
        if frame.shape != shape or frame.dtype != np.uint8:
            raise InputError(f"machine frame {count} is {frame.shape} {frame.dtype}; the layer holds "
                             f"{info.width}x{info.height} RGB uint8 frames")
        decoded = next(layer, None)
        if decoded is None:
            raise InputError(f"the layer's video part ends after {count} of {info.frames} frames")
        candidate = _candidate(entry, frame, decoded)
        if mask is None:
            yield candidate
        else:
            chosen = blocks_to_pixels(mask[count], info.height, info.width)[..., None]
            yield np.where(chosen, candidate, frame)
        count += 1
    if count != info.frames:
        raise InputError(f"{count} machine frames given for a layer of {info.frames}")
