"""A layer's video part: frames with block QP maps coded to a raw Annex-B HEVC/H.264
bitstream in memory (one GOP: an I-frame, then P-frames), and decoded back one frame
at a time."""

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from vcm.codec import Encoder, QPMap
from vcm.codec.reading import open_video, video_frames
from vcm.errors import InputError

RAW_MUXERS = {"hevc": "hevc", "h264": "h264"}


def encode_stream(frames: Iterable[tuple[np.ndarray, np.ndarray]], *, width: int, height: int, count: int,
                  codec: str, fps: float) -> bytes:
    """Code (frame (H, W, 3) uint8 RGB, (rows, cols) block QPs) pairs as one GOP of `count`
    frames; returns the raw bitstream."""
    with tempfile.TemporaryDirectory(prefix="vcm-layer-") as work:
        path = Path(work) / f"layer.{codec}"
        encoder = Encoder(path, width, height, codec=codec, gop=max(count, 1), fps=fps,
                          format=RAW_MUXERS[codec])
        try:
            for frame, blocks in frames:
                encoder.write(frame, QPMap(base=int(np.median(blocks)), blocks=blocks))
            encoder.close()
        except BaseException:
            encoder.abort()
            raise
        return path.read_bytes()


def decode_stream(data: bytes, codec: str, width: int, height: int, *,
                  rgb: bool = True) -> Iterator[np.ndarray | None]:
    """The frames of a raw bitstream, in order: (height, width, 3) uint8 RGB, or None per
    frame when not rgb (to count and check them). InputError for a corrupt stream or
    pictures of another size."""
    container, stream, name = open_video(data, format=RAW_MUXERS[codec], label=f"the layer's {codec} video")
    padded = (width + width % 2, height + height % 2)
    for index, frame in enumerate(video_frames(container, stream, name)):
        if (frame.width, frame.height) != padded:
            raise InputError(f"the layer's video frame {index} is {frame.width}x{frame.height}, "
                             f"the header says {width}x{height}")
        yield frame.to_ndarray(format="rgb24")[:height, :width] if rgb else None
