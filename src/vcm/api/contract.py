"""The camera-to-service contract, defined once for both sides: layer names, header names,
the camera-name rule and the detection record (what `vcm edge` sends and the service stores)."""

import math
from dataclasses import dataclass
from typing import Any

from vcm.errors import InputError
from vcm.models.detector import Detection

MACHINE = "machine"  # the machine stream: an MP4 any player plays (hot tier)
RESTORATION = "restoration"  # the layer that restores human-viewing quality over MACHINE
DETECTIONS = "detections"  # the detections found at the edge, a JSON list of DetectionRecord
LAYERS = (MACHINE, RESTORATION)  # stored as objects; detections go to the catalog
PARTS = (MACHINE, DETECTIONS, RESTORATION)  # what one segment is uploaded as, in this order

CONTENT_SHA256 = "X-Content-SHA256"  # hex SHA-256 of a layer's bytes, sent with it and returned
SEGMENT_START = "X-Segment-Start"  # a segment's start, epoch seconds, sent with its machine layer
SEGMENT_FRAMES = "X-Segment-Frames"  # its frame count, sent with its machine layer
SEGMENT_FPS = "X-Segment-Fps"  # its frame rate, frames per second, sent with its machine layer
MAX_FPS = 1000.0
FPS_TOLERANCE = 0.01  # two frame rates differing by at most 1 % are the same rate
TIER = "X-Tier"  # where a returned layer was stored: hot or cold
NEXT_FROM = "X-Next-From"  # on a full page of a segment listing: the `from` of the next page

EARLIEST, LATEST = 0.0, 4102444800.0  # the times stored, epoch seconds: 1970-01-01 .. 2100-01-01
MAX_SEQ_DIGITS = 12  # segment numbers: up to 12 ASCII digits
MAX_FRAME = 10_000_000  # a frame index within one segment
MAX_COORDINATE = 1e6  # a box coordinate, pixels (either sign)
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
NAME_LENGTH = 128


def check_name(name: str) -> str:
    """Camera and reader names: 1-128 characters of letters, digits, '-', '_' and '.', not
    starting with '.'; InputError otherwise."""
    if not 1 <= len(name) <= NAME_LENGTH or not set(name) <= NAME_CHARACTERS or name.startswith("."):
        raise InputError(f"bad name {name!r}: use 1-128 letters, digits, '-', '_' or '.'")
    return name


SOURCE_LENGTH = 64
EDGE_SOURCE = "edge"  # the detections a camera's agent sends with its segment


def check_source(name: str) -> str:
    """The name a re-analysis stores its detections under: 1-64 characters as for names, not
    the edge's own (EDGE_SOURCE); InputError otherwise."""
    if len(name) > SOURCE_LENGTH:
        raise InputError(f"bad analysis name {name[:70]!r}: at most {SOURCE_LENGTH} characters")
    check_name(name)
    if name == EDGE_SOURCE:
        raise InputError(f"the analysis name {EDGE_SOURCE!r} is the camera's own detections; choose another")
    return name


def finite(value: Any, name: str, low: float, high: float) -> float:
    """`value` (a number or its text) as a float in [low, high]; InputError naming `name`
    otherwise (NaN and infinities included)."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InputError(f"{name} must be a finite number in {low:g}..{high:g}, got {value!r}")
    return number


def epoch_seconds(value: Any, name: str) -> float:
    """A time as stored: epoch seconds between EARLIEST and LATEST; InputError otherwise."""
    return finite(value, name, EARLIEST, LATEST)


def whole(value: Any, name: str, high: int) -> int:
    """A non-negative integer up to `high`: an int, an integral float, or ASCII digits."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)):
            raise InputError(f"{name} must be a whole number in 0..{high}, got {value!r}")
        value = int(value)
    number = finite(value, name, 0, high)
    if number != int(number):
        raise InputError(f"{name} must be a whole number in 0..{high}, got {value!r}")
    return int(number)


def sequence_number(text: str) -> int:
    """A segment number as written in a path: 1-12 ASCII digits; InputError otherwise."""
    if not 1 <= len(text) <= MAX_SEQ_DIGITS or not (text.isascii() and text.isdigit()):
        raise InputError(f"segment number must be 1-{MAX_SEQ_DIGITS} digits 0-9, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class DetectionRecord:
    """A detection found at the edge: frame index in its segment, time in epoch seconds,
    box (x0, y0, x1, y1) in pixels."""

    frame: int
    time: float
    class_name: str
    score: float
    box: tuple[float, float, float, float]

    @classmethod
    def of(cls, frame: int, time: float, detection: Detection) -> "DetectionRecord":
        """The record of a detector's detection on frame `frame` shown at `time`, rounded as
        sent (time to 0.1 ms, box to 0.01 px, score to 4 decimals)."""
        x0, y0, x1, y1 = (round(v, 2) for v in detection.box)
        return cls(frame, round(time, 4), detection.class_name, round(detection.score, 4), (x0, y0, x1, y1))

    def to_dict(self) -> dict[str, object]:
        return {"frame": self.frame, "time": self.time, "class": self.class_name, "score": self.score,
                "box": list(self.box)}

    @classmethod
    def from_dict(cls, item: Any) -> "DetectionRecord":
        """The record of one JSON object, every number finite and in range (frame 0..MAX_FRAME,
        time a stored time, score 0..1, box within +-MAX_COORDINATE); InputError naming what is
        wrong."""
        try:
            if not isinstance(item, dict):
                raise InputError("a detection must be a JSON object")
            raw_box = item["box"]
            if not isinstance(raw_box, list) or len(raw_box) != 4:
                raise InputError("box must be a list of 4 numbers")
            x0, y0, x1, y1 = (finite(v, "box", -MAX_COORDINATE, MAX_COORDINATE) for v in raw_box)
            if not isinstance(item["class"], str) or not item["class"]:
                raise InputError("class must be a non-empty string")
            return cls(whole(item["frame"], "frame", MAX_FRAME), epoch_seconds(item["time"], "time"),
                       item["class"][:64], finite(item["score"], "score", 0.0, 1.0), (x0, y0, x1, y1))
        except KeyError as error:
            raise InputError(f"bad detection record: {error} is missing") from None
        except InputError as error:
            raise InputError(f"bad detection record: {error}") from None
