"""Decode HEVC/H.264 files or bytes: frames, per-frame picture type and bytes, H.264 QP read-back."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from vcm.codec.encoder import CROP_TAG
from vcm.codec.rates import CodedSize, StreamInfo
from vcm.codec.reading import open_video, video_frames
from vcm.errors import InputError


@dataclass
class DecodedFrame:
    """One decoded picture: type 'I'/'P'/'B', coded bytes, and (H.264 only) the
    per-macroblock QP map (rows, cols) read back from the stream."""

    index: int
    picture_type: str
    bytes: int
    qp_map: np.ndarray | None = None


@dataclass
class DecodedVideo(StreamInfo, CodedSize):
    """A decoded file. rgb: (N, H, W, 3) uint8 or None when frames were not kept;
    luma: (N, H, W) uint8 Y planes straight from the decoder (for PSNR)."""

    frames: list[DecodedFrame] = field(default_factory=list)
    rgb: np.ndarray | None = None
    luma: np.ndarray | None = None

    def picture_types(self) -> str:
        return "".join(frame.picture_type for frame in self.frames)


def _crop_size(container: av.container.InputContainer, path: str | Path,
               coded: tuple[int, int]) -> tuple[int, int] | None:
    """The true frame size vcm recorded for an odd-sized encode, or None; InputError when
    the record is malformed or larger than the coded pictures."""
    comment = container.metadata.get("comment", "")
    if not comment.startswith(CROP_TAG):
        return None
    parts = comment[len(CROP_TAG):].split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InputError(f"{path}: malformed crop metadata {comment!r} (expected {CROP_TAG}WxH)")
    width, height = int(parts[0]), int(parts[1])
    if not (0 < width <= coded[0] and 0 < height <= coded[1]):
        raise InputError(f"{path}: crop metadata {width}x{height} does not fit the coded "
                         f"{coded[0]}x{coded[1]} pictures")
    return width, height


DecodedItem = tuple[DecodedFrame, np.ndarray | None, np.ndarray | None]


def decoded_frames(source: str | Path | bytes, *, keep_frames: bool = True,
                   read_qp: bool = True) -> tuple[StreamInfo, Iterator[DecodedItem]]:
    """Open `source` (a file, or a whole container such as an MP4 held in memory) and return
    (info, iterator of (frame info, (H, W, 3) RGB, (H, W) luma)), one frame at a time; RGB
    and luma are None unless keep_frames.

    read_qp: for H.264, read each macroblock's QP (export_side_data=venc_params).
    Raises InputError for a missing, non-video or corrupt input (a file is named by its
    path in the message, bytes as 'the data').
    """
    container, stream, path = open_video(source)
    try:
        codec = stream.codec_context.name
        want_qp = read_qp and codec == "h264"
        if want_qp:
            stream.codec_context.options = {"export_side_data": "venc_params"}
        coded = (stream.codec_context.width, stream.codec_context.height)
        crop = _crop_size(container, path, coded)
        fps = float(stream.average_rate or stream.base_rate or 25)
    except BaseException:
        container.close()
        raise
    width, height = crop or coded
    info = StreamInfo(path=str(path), codec=codec, width=width, height=height, fps=fps)

    def frames() -> Iterator[DecodedItem]:
        sizes: dict[int, int] = {}

        def seen(packet: av.Packet) -> None:
            if packet.size and packet.pts is not None:
                sizes[int(packet.pts)] = packet.size
            if len(sizes) > 1024:  # sizes of packets that never became frames
                sizes.clear()

        for count, frame in enumerate(video_frames(container, stream, path, on_packet=seen)):
            record = DecodedFrame(
                index=count, picture_type=av.video.frame.PictureType(frame.pict_type).name,
                bytes=sizes.pop(int(frame.pts), 0) if frame.pts is not None else 0,
                qp_map=_qp_map(frame) if want_qp else None)
            if not keep_frames:
                yield record, None, None
                continue
            plane = frame.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            yield (record, _cropped(frame.to_ndarray(format="rgb24"), crop),
                   _cropped(rows[:, : plane.width].copy(), crop))

    return info, frames()


def decode(path: str | Path, *, keep_frames: bool = True, read_qp: bool = True) -> DecodedVideo:
    """Decode every frame of `path` into memory (see decoded_frames to stream).

    keep_frames: also return RGB frames and luma planes (else only per-frame info).
    read_qp: for H.264, read each macroblock's QP (export_side_data=venc_params).
    Raises InputError for a missing, non-video or corrupt file.
    """
    info, frames = decoded_frames(path, keep_frames=keep_frames, read_qp=read_qp)
    infos: list[DecodedFrame] = []
    rgb: list[np.ndarray] = []
    luma: list[np.ndarray] = []
    for record, picture, plane in frames:
        infos.append(record)
        if picture is not None and plane is not None:
            rgb.append(picture)
            luma.append(plane)
    return DecodedVideo(
        path=info.path, codec=info.codec, width=info.width, height=info.height, fps=info.fps, frames=infos,
        rgb=np.stack(rgb) if keep_frames else None, luma=np.stack(luma) if keep_frames else None,
    )


def _cropped(array: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    return array if crop is None else array[: crop[1], : crop[0]]


def _qp_map(frame: av.VideoFrame) -> np.ndarray | None:
    for side_data in frame.side_data:
        if side_data.type.name == "VIDEO_ENC_PARAMS":
            return np.asarray(side_data.qp_map())
    return None
