"""Read video files (anything PyAV opens) and raw YUV 4:2:0 into RGB frames."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vcm.errors import InputError

RAW_SUFFIXES = {".yuv", ".raw"}


@dataclass
class Video:
    """Decoded frames of one clip.

    frames: (N, H, W, 3) uint8 RGB. fps: frames per second.
    """

    frames: np.ndarray
    fps: float
    source: str

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def parse_size(text: str) -> tuple[int, int]:
    """'768x576' -> (768, 576)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size must look like WIDTHxHEIGHT, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise InputError(f"size must be positive, got {text!r}")
    return width, height


def _open(path: Path, size: tuple[int, int] | None, fps: float | None) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a video")
    raw = path.suffix.lower() in RAW_SUFFIXES or size is not None
    try:
        if raw:
            if size is None or fps is None:
                raise InputError(f"{path} is raw YUV: give its --size WxH and --fps N")
            plane_bytes = size[0] * size[1] + 2 * ((size[0] + 1) // 2) * ((size[1] + 1) // 2)
            file_bytes = path.stat().st_size
            if file_bytes == 0:
                raise InputError(f"{path} holds zero frames")
            if file_bytes % plane_bytes:
                raise InputError(
                    f"{path} is {file_bytes} bytes, not a whole number of "
                    f"{size[0]}x{size[1]} yuv420p frames ({plane_bytes} bytes each)"
                )
            options = {
                "video_size": f"{size[0]}x{size[1]}",
                "framerate": str(fps),
                "pixel_format": "yuv420p",
            }
            return av.open(str(path), format="rawvideo", options=options)
        return av.open(str(path))
    except av.FFmpegError as error:
        raise InputError(f"{path} is not a readable video ({error.strerror or error})") from None


def iter_frames(
    path: str | Path,
    *,
    start: int = 0,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> tuple[float, Iterator[np.ndarray]]:
    """Open a video and return (fps, iterator of (H, W, 3) uint8 RGB frames)."""
    path = Path(path)
    container = _open(path, size, fps)
    if not container.streams.video:
        container.close()
        raise InputError(f"{path} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(fps or stream.average_rate or stream.base_rate or 25)

    def frames() -> Iterator[np.ndarray]:
        taken = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index < start:
                    continue
                if max_frames is not None and taken >= max_frames:
                    break
                yield frame.to_ndarray(format="rgb24")
                taken += 1
        except av.FFmpegError as error:
            raise InputError(f"{path}: cannot decode frame ({error.strerror or error})") from None
        finally:
            container.close()

    return rate, frames()


def read_video(
    path: str | Path,
    *,
    start: int = 0,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> Video:
    """Read frames [start, start + max_frames) of a video file or raw YUV 4:2:0 file.

    Raw YUV (suffix .yuv/.raw, or whenever `size` is given) needs size=(W, H) and fps.
    Raises InputError for missing, unreadable or empty input.
    """
    rate, frames = iter_frames(path, start=start, max_frames=max_frames, size=size, fps=fps)
    collected = list(frames)
    if not collected:
        raise InputError(f"{path} holds zero frames" + (f" from frame {start}" if start else ""))
    return Video(frames=np.stack(collected), fps=rate, source=str(path))


def planes_of(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes of a yuv420p frame as (H, W), (ceil(H/2), ceil(W/2)) x2 uint8 arrays."""
    planes = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        planes.append(rows[:, : plane.width])
    return planes[0], planes[1], planes[2]


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB -> Y, U, V planes (BT.601 limited range, as the encoder sees them)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    y, u, v = planes_of(frame.reformat(format="yuv420p"))
    return y.copy(), u.copy(), v.copy()


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma plane as coded."""
    return rgb_to_yuv420(rgb)[0]
