"""Frame sources: files, raw YUV, standard input, named pipes and live URLs, read one frame at a time.

A source never holds more than the frame it is handing out, so memory does not grow
with the length of the video. Live sources (standard input, a named pipe, a network
URL) have no known end: `stop()` (e.g. from a signal handler) ends the iteration
after the current frame so the caller can finish a playable output.
"""

import math
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from vcm.codec.options import MAX_SIDE
from vcm.errors import InputError

RAW_SUFFIXES = {".yuv", ".raw"}
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
STDIN = "-"


def parse_size(text: str) -> tuple[int, int]:
    """'768x576' -> (768, 576); InputError for anything else."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise InputError(f"--size must look like WIDTHxHEIGHT (e.g. 768x576), got {text!r}")
    width, height = (int(part) for part in parts)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InputError(f"--size sides must be in 1..{MAX_SIDE}, got {text!r}")
    return width, height


def parse_fps(text: str) -> float:
    """'25' or '29.97' -> a positive finite frame rate; InputError for nan, inf, 0 or junk."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--fps must be a number of frames per second, got {text!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 1000:
        raise InputError(f"--fps must be a finite rate in (0, 1000], got {text!r}")
    return value


def is_url(name: str) -> bool:
    return name.lower().startswith(URL_SCHEMES)


def raw_frame_bytes(width: int, height: int) -> int:
    """Bytes of one yuv420p frame of width x height."""
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def is_live(name: str) -> bool:
    """Standard input, a named pipe or a network URL: a stream that cannot be re-read."""
    return name == STDIN or is_url(name) or _is_fifo(name)


class NoFrames(InputError):
    """The input holds no frame (from the start frame asked for on)."""


class FrameSource:
    """(H, W, 3) uint8 RGB frames of one input, in order; a context manager and an iterator.

    name: a file path, '-' for standard input, a named pipe, or an rtsp/http/udp/tcp URL.
    size/fps: (W, H) and frame rate of raw YUV 4:2:0 input (a .yuv/.raw file, or any input
    when size is given). start/max_frames: skip the first `start` frames, stop after
    `max_frames`. timeout: seconds a network read may block.
    The first frame is decoded on open, so `width`, `height` and `fps` are known and an
    input without frames fails before any output is made. expected_frames: how many frames
    a file's container lists (for progress bars; None for live inputs or when unlisted).
    """

    def __init__(self, name: str | Path, *, size: tuple[int, int] | None = None, fps: float | None = None,
                 start: int = 0, max_frames: int | None = None, timeout: float = 10.0) -> None:
        if start < 0:
            raise InputError(f"start frame must be at least 0, got {start}")
        if max_frames is not None and max_frames < 1:
            raise InputError(f"--frames must be at least 1, got {max_frames}")
        self.name = str(name)
        self.live = is_live(self.name)
        self._stop = threading.Event()
        self._container = _open(self.name, size, fps, timeout)
        try:
            if not self._container.streams.video:
                raise InputError(f"{self.name} has no video stream")
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self.fps = float(fps or stream.average_rate or stream.base_rate or 25)
            listed = int(stream.frames or 0) - start
            self.expected_frames: int | None = listed if listed > 0 and not self.live else None
            if not math.isfinite(self.fps) or self.fps <= 0:
                self.fps = 25.0
            self._frames = self._decode(stream, start)
            self._first = next(self._frames, None)
        except BaseException:
            self.close()
            raise
        if self._first is None:
            self.close()
            raise NoFrames(f"{self.name} holds zero frames" + (f" from frame {start}" if start else ""))
        self.height, self.width = self._first.shape[:2]
        self.max_frames = max_frames
        if max_frames is not None and not self.live:
            self.expected_frames = min(self.expected_frames or max_frames, max_frames)
        self.frames_read = 0

    def _decode(self, stream: av.video.stream.VideoStream, start: int) -> Iterator[np.ndarray]:
        index = 0
        try:
            for frame in self._container.decode(stream):
                if index >= start:
                    if not (0 < frame.width <= MAX_SIDE and 0 < frame.height <= MAX_SIDE):
                        raise InputError(f"{self.name}: frames of {frame.width}x{frame.height} are "
                                         f"outside 1..{MAX_SIDE} pixels a side")
                    yield frame.to_ndarray(format="rgb24")
                index += 1
        except av.FFmpegError as error:
            raise InputError(f"{self.name}: cannot decode frame {index} "
                             f"({error.strerror or error})") from None
        except MemoryError:
            raise InputError(f"{self.name}: frame {index} is too large to decode") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        first, self._first = self._first, None
        if first is None:
            return
        frames = _prepend(first, self._frames)
        for frame in frames:
            if self._stop.is_set() or (self.max_frames is not None and self.frames_read >= self.max_frames):
                break
            if frame.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"{self.name}: frame {self.frames_read} is {frame.shape[1]}x{frame.shape[0]} but the "
                    f"video started at {self.width}x{self.height}; vcm codes one size per stream "
                    "(scale the input to one size first)")
            self.frames_read += 1
            yield frame
        self.close()

    def stop(self) -> None:
        """End the iteration after the current frame (safe to call from a signal handler)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            self._container = None
            container.close()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _prepend(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _is_fifo(name: str) -> bool:
    try:
        return stat.S_ISFIFO(Path(name).stat().st_mode)
    except (OSError, ValueError):
        return False


def _open(name: str, size: tuple[int, int] | None, fps: float | None,
          timeout: float) -> av.container.InputContainer:
    path = Path(name)
    url = is_url(name)
    local = name != STDIN and not url
    if local and not path.exists():
        raise InputError(f"no such file: {name}")
    if local and path.is_dir():
        raise InputError(f"{name} is a directory, not a video")
    raw = size is not None or (local and path.suffix.lower() in RAW_SUFFIXES)
    options: dict[str, str] = {}
    if raw:
        if size is None or fps is None:
            raise InputError(f"{name} is raw YUV: give its --size WxH and --fps N")
        if local and path.is_file():
            _check_raw_length(path, size)
        options = {"video_size": f"{size[0]}x{size[1]}", "framerate": str(fps), "pixel_format": "yuv420p"}
    if url:
        options["rw_timeout"] = str(int(timeout * 1_000_000))
    target: object = sys.stdin.buffer if name == STDIN else name
    try:
        return av.open(target, format="rawvideo" if raw else None, options=options, timeout=timeout)
    except av.FFmpegError as error:
        what = "a reachable video stream" if url else "a readable video"
        raise InputError(f"{name} is not {what} ({error.strerror or error})") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{name} cannot be opened ({error})") from None


def _check_raw_length(path: Path, size: tuple[int, int]) -> None:
    frame_bytes = raw_frame_bytes(*size)
    file_bytes = path.stat().st_size
    if file_bytes == 0:
        raise InputError(f"{path} holds zero frames")
    if file_bytes % frame_bytes:
        raise InputError(f"{path} is {file_bytes} bytes, not a whole number of {size[0]}x{size[1]} "
                         f"yuv420p frames ({frame_bytes} bytes each)")
