"""Reference codings: what a user would store instead of vcm's stream, each with its rate
ladder, measured by `vcm eval --references` like any method (AccMPEG, DDS and AWStream
compare the same way).

- crf: x265 (or x264) at a constant rate factor with its default adaptive quantisation,
  vcm's preset and GOP (what an NVR or a plain FFmpeg command sets);
- half-res: uniform QP on frames at half the width and height, scaled back up for the
  task (AWStream's resolution knob).
"""

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vcm.codec import QPMap
from vcm.codec.decoder import decoded_frames
from vcm.codec.encoder import Encoder
from vcm.codec.plain import encode_crf
from vcm.registry import Registry


@dataclass(frozen=True)
class Coded:
    """A reference coding of a clip: coded bytes (the packets, as vcm's streams count them),
    the stream itself (an MP4), and what a decoder gives back at the clip's size: rgb
    (N, H, W, 3) uint8, luma (N, H, W) uint8."""

    total_bytes: int
    stream: bytes
    rgb: np.ndarray
    luma: np.ndarray
    seconds: float


# code(frames (N, H, W, 3) uint8, fps, codec, gop, knob value) -> Coded
Coder = Callable[[np.ndarray, float, str, int, int], Coded]


@dataclass(frozen=True)
class Reference:
    """A registered reference coding: its ladder (knob 'crf' or 'qp', values, the main value)."""

    name: str
    summary: str
    knob: str
    values: tuple[int, ...]
    main: int
    code: Coder

    def points(self, full: bool) -> list[int]:
        """The knob values to run: the whole ladder, or only the main one."""
        return sorted({*self.values, self.main}) if full else [self.main]


def _decode(stream: bytes, height: int, width: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(packet bytes per frame, RGB, luma) of a stream, cropped or scaled to height x width."""
    _, frames = decoded_frames(stream, read_qp=False)
    sizes, pictures, planes = [], [], []
    for record, rgb, luma in frames:
        assert rgb is not None and luma is not None
        sizes.append(record.bytes)
        if rgb.shape[:2] != (height, width):
            rgb = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))
            luma = np.asarray(Image.fromarray(luma).resize((width, height), Image.Resampling.BILINEAR))
        pictures.append(rgb[:height, :width])
        planes.append(luma[:height, :width])
    return sizes, np.stack(pictures), np.stack(planes)


def code_crf(frames: np.ndarray, fps: float, codec: str, gop: int, crf: int) -> Coded:
    """The clip at constant rate factor `crf` (odd sides padded by their last pixel)."""
    started = time.perf_counter()
    height, width = frames.shape[1:3]
    even = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    stream = encode_crf(even, codec=codec, gop=gop, fps=fps, crf=crf)
    seconds = time.perf_counter() - started
    sizes, rgb, luma = _decode(stream, height, width)
    return Coded(sum(sizes), stream, rgb, luma, seconds)


def code_half_resolution(frames: np.ndarray, fps: float, codec: str, gop: int, qp: int) -> Coded:
    """The clip at half its width and height (box filter, at least 16 px a side), uniform `qp`."""
    started = time.perf_counter()
    height, width = frames.shape[1:3]
    size = (max(width // 2, 16), max(height // 2, 16))
    out = io.BytesIO()
    with Encoder(out, size[0], size[1], codec=codec, gop=gop, fps=fps, format="mp4") as encoder:
        for rgb in frames:
            encoder.write(np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX)), QPMap(base=qp))
    seconds = time.perf_counter() - started
    stream = out.getvalue()
    sizes, rgb, luma = _decode(stream, height, width)
    return Coded(sum(sizes), stream, rgb, luma, seconds)


REFERENCES: Registry[Reference] = Registry("reference coding")
REFERENCES.register("crf", Reference(
    "crf", "x265 (x264 with --codec h264) at a CRF with default adaptive quantisation, same preset "
    "and GOP (CRF 28, x265's default)", "crf", (18, 23, 28, 33, 38, 43), 28, code_crf))
REFERENCES.register("half-res", Reference(
    "half-res", "uniform QP at half width and height, scaled back up (QP 30)", "qp",
    (22, 26, 30, 34, 38, 42, 46), 30, code_half_resolution))
