"""Encode RGB frames with per-block QP maps to HEVC/H.264 through PyAV (libx265/libx264)."""

import contextlib
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from vcm.atomic import atomic_output
from vcm.codec.options import CODECS, HEVC_CTU16_MAX_PIXELS, MAX_GOP, MAX_SIDE, encoder_options
from vcm.codec.qpmap import QPMap, grid_shape
from vcm.codec.rates import CodedSize, StreamInfo
from vcm.codec.roi import RoiPictures
from vcm.errors import InputError
from vcm.rounding import rounded

RAW_FORMATS = {".hevc": "hevc", ".265": "hevc", ".h265": "hevc", ".264": "h264", ".h264": "h264"}
CONTAINER_FORMATS = {".mp4": "mp4", ".mov": "mov", ".m4v": "mp4", ".mkv": "matroska", ".ts": "mpegts"}
CROP_TAG = "vcm-crop="
PacketSink = Callable[["FrameStats", av.Packet], None]


@dataclass
class FrameStats:
    """What the encoder did with one frame: picture type 'I'/'P', coded bytes, mean block QP."""

    index: int
    picture_type: str
    bytes: int
    base_qp: int
    mean_qp: float


@dataclass
class EncodeResult(StreamInfo, CodedSize):
    """An encoded file, its GOP length and per-frame statistics."""

    gop: int
    frames: list[FrameStats] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path, "codec": self.codec, "width": self.width, "height": self.height,
            "fps": self.fps, "gop": self.gop, "total_bytes": self.total_bytes,
            "bitrate_kbps": rounded(self.bitrate_kbps, "kbps"),
            "frames": [asdict(frame) for frame in self.frames],
        }


def output_format(path: str | Path, codec: str) -> str:
    """The FFmpeg muxer for an output path holding `codec`: raw Annex-B for .hevc/.264,
    else mp4, mov, matroska (.mkv) or mpegts (.ts); InputError for any other name."""
    suffix = Path(path).suffix.lower()
    if suffix in RAW_FORMATS:
        if RAW_FORMATS[suffix] != codec:
            raise InputError(f"output suffix {suffix} does not hold {codec}; use "
                             f"{', '.join(s for s, c in RAW_FORMATS.items() if c == codec)} or a container")
        return RAW_FORMATS[suffix]
    if suffix not in CONTAINER_FORMATS:
        raise InputError(f"cannot tell the container of output {Path(path).name!r}: name it "
                         f"{', '.join(CONTAINER_FORMATS)}, or raw {', '.join(RAW_FORMATS)}")
    return CONTAINER_FORMATS[suffix]


class Encoder:
    """A streaming encoder: open on a path (or an io.BytesIO, given `format`), `write` frames
    with their QP maps, `close`.
    A context manager: leaving the block by an error aborts, else closes.

    Frames are (H, W, 3) uint8 RGB; odd sizes are padded by one replicated pixel for
    4:2:0 and the true size is recorded in the MP4 metadata for `decode` to crop back.
    format: the muxer (see output_format; by default from the path's suffix).
    on_packet(stats, packet): called with every coded frame before it is written (for a
    decoder that checks the stream as it is made); statistics are then not kept.
    """

    def __init__(self, path: Path | io.BytesIO, width: int, height: int, *, codec: str = "hevc",
                 gop: int = 32, fps: float = 25.0, format: str | None = None,
                 on_packet: PacketSink | None = None) -> None:
        if codec not in CODECS:
            raise InputError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")
        if not 1 <= gop <= MAX_GOP:
            raise InputError(f"gop must be in 1..{MAX_GOP}, got {gop}")
        if not math.isfinite(fps) or fps <= 0:
            raise InputError(f"fps must be positive and finite, got {fps}")
        if width < 16 or height < 16:
            raise InputError(f"frames of {width}x{height} are too small to encode (16x16 minimum)")
        if width > MAX_SIDE or height > MAX_SIDE:
            raise InputError(f"frames of {width}x{height} are too large to encode "
                             f"({MAX_SIDE} a side at most)")
        self.width, self.height, self.codec, self.gop, self.fps = width, height, codec, gop, fps
        self.rows, self.cols = grid_shape(width, height)
        self._pictures = RoiPictures(width, height)
        self._padded = self._pictures.padded
        if isinstance(path, io.BytesIO) and format is None:
            raise ValueError("an encoder writing into memory needs its container format")
        muxer = format or output_format(path, codec)  # type: ignore[arg-type]
        self.container = av.open(path if isinstance(path, io.BytesIO) else str(path), "w", format=muxer)
        if muxer not in RAW_FORMATS.values() and self._padded != (width, height):
            self.container.metadata["comment"] = f"{CROP_TAG}{width}x{height}"
        rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream(CODECS[codec], rate=rate,
                                                options=encoder_options(codec, gop))
        self.stream.width, self.stream.height = self._padded
        self.stream.pix_fmt = "yuv420p"
        self._next_index = 0
        self._stats: dict[int, FrameStats] = {}
        self._pending_qp: dict[int, QPMap] = {}
        self._on_packet = on_packet
        self._closed = False
        try:
            self.stream.codec_context.open()  # now, so a size the encoder refuses fails before any work
        except av.FFmpegError:
            self.abort()
            raise InputError(_refusal(codec, width, height)) from None

    def write(self, rgb: np.ndarray, qp_map: QPMap, *, force_intra: bool = False) -> None:
        """Encode one (H, W, 3) uint8 RGB frame under `qp_map`."""
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise InputError(
                f"frame {self._next_index} is {rgb.shape} {rgb.dtype}, expected "
                f"({self.height}, {self.width}, 3) uint8"
            )
        block_qp = qp_map.dense(self.rows, self.cols)
        frame = self._pictures.picture(rgb, block_qp)
        frame.pts = self._next_index
        frame.pict_type = av.video.frame.PictureType.I if force_intra else (
            av.video.frame.PictureType.NONE)
        self._pending_qp[self._next_index] = qp_map
        self._next_index += 1
        self._mux(self.stream.encode(frame))

    def _mux(self, packets: Sequence[av.Packet]) -> None:
        for packet in packets:
            index = int(packet.pts)
            qp_map = self._pending_qp.pop(index)
            kind = "I" if packet.is_keyframe else "P"
            stats = FrameStats(index=index, picture_type=kind, bytes=packet.size, base_qp=qp_map.base,
                               mean_qp=rounded(qp_map.mean_qp(), "qp"))
            if self._on_packet is None:
                self._stats[index] = stats
            else:
                self._on_packet(stats, packet)
            self.container.mux(packet)

    @property
    def extradata(self) -> bytes | None:
        """Codec configuration a decoder of the packets needs (parameter sets), if any."""
        return self.stream.codec_context.extradata

    def close(self) -> list[FrameStats]:
        """Flush the encoder, finish the file and return per-frame statistics in display order
        (empty when they went to on_packet). Closing twice does nothing more."""
        if self._closed:
            return []
        self._closed = True
        self._mux(self.stream.encode(None))
        self.container.close()
        self._on_packet = None  # the callback often refers back to this encoder: break the cycle
        return [self._stats[index] for index in sorted(self._stats)]

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Close the container after a failure, ignoring further errors."""
        if self._closed:
            return
        self._closed = True
        self._on_packet = None
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self.container.close()


def _refusal(codec: str, width: int, height: int) -> str:
    """Why the encoder would not open for frames of width x height."""
    if codec == "hevc" and width * height > HEVC_CTU16_MAX_PIXELS:
        return (f"x265 cannot code {width}x{height} frames with 16x16 QP blocks: HEVC above level 4.1 "
                f"(more than {HEVC_CTU16_MAX_PIXELS} pixels, e.g. 1920x1080) needs 32x32 CTUs; "
                "use --codec h264")
    return f"the {CODECS[codec]} encoder refuses {width}x{height} frames"


def encode(
    frames: Iterable[np.ndarray] | np.ndarray,
    qp_maps: QPMap | int | Sequence[QPMap],
    out: str | Path,
    *,
    codec: str = "hevc",
    gop: int = 32,
    fps: float = 25.0,
    force_intra: Iterable[int] = (),
    on_frame: Callable[[int], None] | None = None,
) -> EncodeResult:
    """Encode (H, W, 3) uint8 RGB frames to `out` (MP4/MKV, or raw .hevc/.264).

    qp_maps: one QPMap per frame, a single QPMap for all frames, or an int uniform QP.
    force_intra: frame indices to code as IDR frames in addition to every gop-th.
    The file appears at `out` only when complete.
    """
    path = Path(out)
    forced = set(force_intra)
    if isinstance(qp_maps, int):
        qp_maps = QPMap(base=qp_maps)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise InputError("no frames to encode")
    height, width = first.shape[:2]
    stats: list[FrameStats] = []
    muxer = output_format(path, codec)
    with atomic_output(path) as temporary:
        encoder = Encoder(temporary, width, height, codec=codec, gop=gop, fps=fps, format=muxer)
        try:
            for index, rgb in enumerate(_chain(first, iterator)):
                qp_map = qp_maps if isinstance(qp_maps, QPMap) else _nth(qp_maps, index)
                encoder.write(rgb, qp_map, force_intra=index in forced)
                if on_frame is not None:
                    on_frame(index)
            stats = encoder.close()
        except BaseException:
            encoder.abort()
            raise
    return EncodeResult(path=str(path), codec=codec, width=width, height=height, fps=fps,
                        gop=gop, frames=stats)


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _nth(qp_maps: Sequence[QPMap], index: int) -> QPMap:
    if index >= len(qp_maps):
        raise InputError(f"{len(qp_maps)} QP maps given for more frames than that")
    return qp_maps[index]
