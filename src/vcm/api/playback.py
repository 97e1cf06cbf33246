"""Turning stored segments back into pictures: decode a machine layer, apply its
restoration layer, and write a sequence of segments as one video."""

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from vcm.atomic import atomic_output
from vcm.codec import QPMap
from vcm.codec.decoder import decoded_frames
from vcm.codec.encoder import Encoder, output_format
from vcm.errors import InputError

VIEW_QP = 20  # uniform QP of a human-viewing rendition: well above the restored quality


def machine_frames(data: bytes) -> Iterator[np.ndarray]:
    """The (H, W, 3) uint8 RGB frames of a machine layer (an MP4 segment) held in memory."""
    _, frames = decoded_frames(data, read_qp=False)
    for _, rgb, _ in frames:
        assert rgb is not None
        yield rgb


def segment_frames(machine: bytes, restoration: bytes | None) -> Iterator[np.ndarray]:
    """A segment's frames: restored when its restoration layer is given, else the machine stream's."""
    if restoration is None:
        yield from machine_frames(machine)
        return
    from vcm.restoration import restore_frames

    yield from restore_frames(machine_frames(machine), restoration)


def write_video(frames: Iterable[np.ndarray], out: Path, fps: float, *, codec: str = "h264",
                qp: int = VIEW_QP) -> int:
    """Encode frames at a uniform `qp` to `out` (appears only when complete); returns the frame count."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise InputError("nothing to write: no frames in the chosen range")
    count = 0
    with atomic_output(out) as temporary, Encoder(
            temporary, first.shape[1], first.shape[0], codec=codec, gop=max(round(fps) * 2, 1), fps=fps,
            format=output_format(out, codec)) as encoder:
        for rgb in _chain(first, iterator):
            encoder.write(rgb, QPMap(base=qp))
            count += 1
    return count


def concatenate(segments: Iterable[bytes], out: Path) -> int:
    """Join machine-layer MP4 segments into one file without re-coding; returns the packet count.
    Segments must share codec, size and frame rate (they do when one agent made them)."""
    count = 0
    with atomic_output(out) as temporary:
        output: av.container.OutputContainer | None = None
        stream = None
        offset = 0
        try:
            for data in segments:
                with av.open(io.BytesIO(data)) as source:
                    source_stream = source.streams.video[0]
                    if output is None:
                        output = av.open(str(temporary), "w", format="mp4")
                        stream = output.add_stream_from_template(source_stream)
                    last = offset
                    for packet in source.demux(source_stream):
                        if packet.dts is None:
                            continue
                        packet.pts = (packet.pts or 0) + offset
                        packet.dts += offset
                        last = max(last, packet.pts + (packet.duration or 1))
                        packet.stream = stream
                        output.mux(packet)
                        count += 1
                    offset = last
            if output is None:
                raise InputError("nothing to write: no segments in the chosen range")
        finally:
            if output is not None:
                output.close()
    return count


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
