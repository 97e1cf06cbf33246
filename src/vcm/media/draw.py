"""Drawing detections for people to look at: boxes with class and score, into a video or PNGs.

Either output appears only when complete: the video is renamed into place at the end,
the PNGs are written into a hidden folder beside the target and moved in at the end.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw

from vcm.atomic import atomic_output, check_output, check_output_folder
from vcm.codec import QPMap
from vcm.codec.encoder import Encoder, output_format
from vcm.errors import OutputError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")
DRAW_QP = 23  # H.264 QP of the drawn video: for viewing, not for machines


class Labelled(Protocol):
    """What a drawn box needs (vcm.models.Detection is one): box (x0, y0, x1, y1) in pixels."""

    box: tuple[float, float, float, float]
    class_id: int
    class_name: str
    score: float


PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230))


def draw_detections(frame: np.ndarray, detections: Sequence[Labelled]) -> np.ndarray:
    """A copy of (H, W, 3) uint8 RGB `frame` with each detection's box and 'class score'."""
    image = Image.fromarray(frame)
    pen = ImageDraw.Draw(image)
    for detection in detections:
        colour = PALETTE[detection.class_id % len(PALETTE)]
        x1, y1, x2, y2 = detection.box
        pen.rectangle((x1, y1, x2, y2), outline=colour, width=2)
        label = f"{detection.class_name} {detection.score:.2f}"
        left, top, right, bottom = pen.textbbox((x1, y1), label)
        lift = bottom - top + 2
        pen.rectangle((x1, y1 - lift, x1 + right - left + 4, y1), fill=colour)
        pen.text((x1 + 2, y1 - lift), label, fill=(0, 0, 0))
    return np.asarray(image)


class _VideoSink:
    """Opens the H.264 encoder at the first frame, when the size is known."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.encoder: Encoder | None = None

    def write(self, frame: np.ndarray, detections: Sequence[Labelled]) -> None:
        if self.encoder is None:
            height, width = frame.shape[:2]
            self.encoder = Encoder(self.path, width, height, codec="h264", gop=max(round(self.fps) * 2, 1),
                                   fps=self.fps, format=output_format(self.path, "h264"))
        self.encoder.write(draw_detections(frame, detections), QPMap(base=DRAW_QP))

    def finish(self) -> None:
        """Flush the encoder (the file is renamed into place when the context ends)."""
        if self.encoder is not None:
            self.encoder.close()


class _PngSink:
    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    def write(self, frame: np.ndarray, detections: Sequence[Labelled]) -> None:
        Image.fromarray(draw_detections(frame, detections)).save(self.folder / f"frame_{self.count:06d}.png")
        self.count += 1

    def finish(self) -> None:
        """Nothing to do: the folder is moved into place with the context."""


@dataclass(frozen=True)
class Drawing:
    """Where drawn frames go: a video file (by suffix) or a folder of PNGs."""

    out: Path

    @property
    def is_video(self) -> bool:
        return self.out.suffix.lower() in VIDEO_SUFFIXES

    @contextmanager
    def open(self, fps: float) -> Iterator["_VideoSink | _PngSink"]:
        """A sink with write(frame, detections) and finish(); the output appears when the
        block ends without error."""
        if self.is_video:
            yield from self._video(fps)
        else:
            yield from self._pngs()

    def _video(self, fps: float) -> Iterator[_VideoSink]:
        with atomic_output(self.out) as temporary:
            sink = _VideoSink(temporary, fps)
            try:
                yield sink
            except BaseException:
                if sink.encoder is not None:
                    sink.encoder.abort()
                raise
            sink.finish()

    def _pngs(self) -> Iterator[_PngSink]:
        self.out.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out))
        try:
            yield _PngSink(work)
            for picture in sorted(work.iterdir()):
                os.replace(picture, self.out / picture.name)
        except OSError as error:
            raise OutputError(f"cannot write PNGs into {self.out}: {error.strerror or error}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)


def open_drawing(out: Path) -> Drawing:
    """Check `out` can be written before any work starts; a video by suffix, else a folder."""
    drawing = Drawing(out)
    if drawing.is_video:
        check_output(out)
    else:
        check_output_folder(out)
    return drawing
