"""The one way into a coded video: open a file or bytes held in memory, find its video
stream, decode its frames in order; every problem becomes one InputError naming the input."""

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import av

from vcm.errors import InputError

PacketSeen = Callable[[av.Packet], None]
Opened = tuple[av.container.InputContainer, av.video.stream.VideoStream, str]


def open_video(source: str | Path | bytes, *, format: str | None = None, label: str | None = None) -> Opened:
    """(the opened container, its first video stream, the input's name in messages). source: a
    file, or a whole container or raw stream in memory (then `format` names a raw muxer such
    as 'hevc'); label: how errors name it (default: the path, or 'the data'). InputError for
    a missing file, unreadable data or no video stream; the caller closes the container."""
    if isinstance(source, bytes):
        name, opened = label or "the data", io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        name, opened = label or str(path), str(path)
    try:
        container = av.open(opened, format=format)
    except (av.FFmpegError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise InputError(f"{name} is not a readable video ({reason})") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{name} has no video stream")
    return container, container.streams.video[0], name


def video_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str,
                 *, on_packet: PacketSeen | None = None) -> Iterator[av.VideoFrame]:
    """The stream's decoded frames in order (on_packet sees each packet first); InputError for
    a corrupt frame or bitstream, or zero frames. Closes the container when done."""
    count = 0
    with container:
        try:
            for packet in container.demux(stream):
                if on_packet is not None:
                    on_packet(packet)
                for frame in packet.decode():
                    if frame.is_corrupt:
                        raise InputError(f"{name}: frame {count} is corrupt")
                    count += 1
                    yield frame
        except av.FFmpegError as error:
            raise InputError(f"{name}: corrupt bitstream ({error.strerror or error})") from None
    if count == 0:
        raise InputError(f"{name} holds zero decodable frames")
