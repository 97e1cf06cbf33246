"""Activity search over stored H.264 streams: which windows hold people moving, and how.

The reference pipeline decodes every picture and runs the person detector on each, links the
detections into tracks and calls a window moving when a track's centre travels MOVE_PIXELS or
more within it (left, right, toward = down the picture, away = up). The compressed-domain
search classifies every window from the stream itself and runs the detector only on the windows
whose probability of something other than standing reaches a threshold (chosen on validation),
there on every picture (or every `stride`-th, cheaper but it changes the tracks the
movements are read from).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from vcm.cdomain.activity import classify_video
from vcm.cdomain.model import ActivityModel
from vcm.cdomain.synthetic import WINDOW
from vcm.errors import InputError
from vcm.models.detector import Detection, Detector, detect_frames
from vcm.tasks.targets import best_match

SEARCH_RECALL = 0.97  # validation recall the search threshold must keep
PERSON_SCORE = 0.5  # detections of people at least this confident are tracked
TRACK_IOU = 0.3
MOVE_PIXELS = 8.0  # centre travel within a window that counts as moving
MOVING_KINDS = ("left", "right", "toward", "away")


@dataclass
class WindowMovement:
    """Frames first..last of a stream and the movements of people the detector saw in them
    (MOVING_KINDS, or 'standing' for a tracked person who stayed)."""

    first: int
    last: int
    kinds: list[str] = field(default_factory=list)

    @property
    def moving(self) -> bool:
        return any(kind in MOVING_KINDS for kind in self.kinds)


def movements(detections: Sequence[Sequence[Detection]]) -> list[str]:
    """Sorted kinds of movement of the people tracked through one window's detections (of every
    picture, or of evenly spaced ones); a track counts if it spans half of them."""
    tracks: list[list[Detection]] = []
    for frame in detections:
        people = [d for d in frame if d.class_name == "person" and d.score >= PERSON_SCORE]
        for track in tracks:
            match = best_match(track[-1], people, TRACK_IOU)
            if match is not None:
                track.append(match)
                people.remove(match)
        tracks.extend([person] for person in people)
    kinds = set()
    for track in tracks:
        if len(track) < max(2, -(-len(detections) // 2)):
            continue
        (x1, y1, x2, y2), (u1, v1, u2, v2) = track[0].box, track[-1].box
        dx, dy = (u1 + u2 - x1 - x2) / 2, (v1 + v2 - y1 - y2) / 2
        if np.hypot(dx, dy) < MOVE_PIXELS:
            kinds.add("standing")
        elif abs(dx) >= abs(dy):
            kinds.add("left" if dx < 0 else "right")
        else:
            kinds.add("toward" if dy > 0 else "away")
    return sorted(kinds)


def _decoded_windows(path: Path, wanted: Callable[[int], bool],
                     stride: int) -> "Iterator[tuple[int, int, list[np.ndarray]]]":
    """(first, last, RGB pictures) of the windows whose index `wanted` accepts, one window at a
    time; only every `stride`-th picture of a window and its last are converted."""
    pictures: list[np.ndarray] = []
    last = -1
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                window, offset = divmod(index, WINDOW)
                if offset == 0 and pictures:
                    yield last - last % WINDOW, last, pictures
                    pictures = []
                last = index
                if wanted(window) and (offset % stride == 0 or offset == WINDOW - 1):
                    pictures.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as error:
        raise InputError(f"{path}: not a readable video ({error})") from None
    if pictures and last % WINDOW + 1 >= WINDOW // 2:
        yield last - last % WINDOW, last, pictures


def detector_pipeline(path: Path, detector: Detector, wanted: Callable[[int], bool] = lambda window: True,
                      stride: int = 1) -> list[WindowMovement]:
    """The reference (defaults): decode and detect every picture of every window; or only the
    wanted windows, every `stride`-th picture."""
    return [WindowMovement(first, last, movements(detect_frames(detector, pictures)))
            for first, last, pictures in _decoded_windows(path, wanted, stride)]


@dataclass
class SearchResult:
    """Per window of a stream: the compressed-domain moving score (1 - P(stand)), whether it was
    flagged, and for flagged windows the detector's movements."""

    path: str
    scores: list[float]
    flagged: list[bool]
    found: list[WindowMovement]


def moving_scores(path: Path, model: ActivityModel) -> list[float]:
    """Per window of the stream, 1 - P(stand) from the compressed-domain model."""
    return [1.0 - window.scores["stand"] for window in classify_video(path, model)]


def compressed_search(path: Path, model: ActivityModel, detector: Detector, stride: int = 1) -> SearchResult:
    """Classify every window from the compressed stream; detect people only in the windows whose
    moving score reaches the model's search threshold, on every `stride`-th picture."""
    scores = moving_scores(path, model)
    flagged = [score >= model.search_threshold for score in scores]
    found = detector_pipeline(path, detector, lambda window: window < len(flagged) and flagged[window],
                              stride)
    return SearchResult(str(path), scores, flagged, found)


def fit_search_threshold(scores: Sequence[float], moving: Sequence[bool]) -> float:
    """The highest moving-score threshold that still flags SEARCH_RECALL of the `moving` windows
    (validation): fewest detector runs at that recall."""
    wanted = sorted((score for score, move in zip(scores, moving, strict=True) if move), reverse=True)
    if not wanted:
        raise InputError("no window with moving people to choose the search threshold on")
    return float(wanted[max(int(np.ceil(SEARCH_RECALL * len(wanted))) - 1, 0)])
