"""The camera-to-service contract, defined once for both sides: layer names, header names,
the camera-name rule and the detection record (what `vcm edge` sends and the service stores)."""

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
TIER = "X-Tier"  # where a returned layer was stored: hot or cold

NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
NAME_LENGTH = 128


def check_name(name: str) -> str:
    """Camera and reader names: 1-128 characters of letters, digits, '-', '_' and '.', not
    starting with '.'; InputError otherwise."""
    if not 1 <= len(name) <= NAME_LENGTH or not set(name) <= NAME_CHARACTERS or name.startswith("."):
        raise InputError(f"bad name {name!r}: use 1-128 letters, digits, '-', '_' or '.'")
    return name


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
        """The record of one JSON object; InputError naming what is wrong."""
        try:
            box = tuple(float(v) for v in item["box"])
            if len(box) != 4:
                raise ValueError("box needs 4 numbers")
            return cls(int(item["frame"]), float(item["time"]), str(item["class"])[:64], float(item["score"]),
                       (box[0], box[1], box[2], box[3]))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"bad detection record {item!r}: {error}") from None
