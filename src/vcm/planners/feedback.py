"""Closing the loop: each tracked object's result on the decoded stream steers its QP over
the next frames.

The verification pass decodes each coded frame and runs the detector on it. An object's
headroom is the distance of its score on the original from the operating score; its drift
the change of its score on the decoded frame. Where the drift crossed the operating score
although the headroom was at least FLIP_NOISE (coding took away a margin the object had),
its QP offset drops by `down`; where the drift stays within half the headroom, the offset
rises by `up` (the object keeps its decision with room to spare). A flip within FLIP_NOISE
of the threshold is not chased: such scores flip at any QP. Offsets are bounded and follow
the object from one detector pass to the next by IoU; a new object starts at 0.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from vcm.models.detector import Detection
from vcm.tasks.targets import best_match

FLIP_NOISE = 0.05  # scores this close to the operating score flip at any QP
TRACK_IOU = 0.3  # the same object from one detector pass to the next
MATCH_IOU = 0.5  # the same object on the original and on the decoded frame


@dataclass
class _Track:
    detection: Detection  # as last found on the original
    offset: int = 0


class ScoreFeedback:
    """Per-object QP offsets from the decoded stream (see the module docstring)."""

    def __init__(self, min_score: float, down: int, up: int = 1, lowest: int = -12, highest: int = 8) -> None:
        """down / up: QP added to an object's offset when its decoded decision flipped /
        held (down 0: no loop); lowest / highest: the offset's bounds."""
        self.min_score, self.down, self.up, self.lowest, self.highest = min_score, down, up, lowest, highest
        self._tracks: list[_Track] = []

    def follow(self, objects: Sequence[Detection]) -> None:
        """Objects found by a new detector pass: each keeps the offset of the previous
        object it overlaps most (same class, IoU >= TRACK_IOU); new ones start at 0."""
        unclaimed = {track.detection: track for track in self._tracks}
        followed = []
        for detection in objects:
            match = best_match(detection, list(unclaimed), TRACK_IOU)
            offset = unclaimed.pop(match).offset if match is not None else 0
            followed.append(_Track(detection, offset))
        self._tracks = followed

    def offsets(self) -> list[int]:
        """The QP offset of each object of the latest `follow`, in its order."""
        return [track.offset for track in self._tracks]

    def observe(self, original: Sequence[Detection], decoded: Sequence[Detection]) -> None:
        """One checked frame: the detector's output on the original and on the decoded frame."""
        if self.down == 0:
            return
        for track in self._tracks:
            before = _score(best_match(track.detection, original, MATCH_IOU))
            after = _score(best_match(track.detection, decoded, MATCH_IOU))
            headroom, drift = abs(before - self.min_score), abs(after - before)
            flipped = (before >= self.min_score) != (after >= self.min_score)
            if flipped and headroom >= FLIP_NOISE:
                track.offset = max(track.offset - self.down, self.lowest)
            elif not flipped and drift <= headroom / 2:
                track.offset = min(track.offset + self.up, self.highest)


def _score(detection: Detection | None) -> float:
    return detection.score if detection is not None else 0.0
