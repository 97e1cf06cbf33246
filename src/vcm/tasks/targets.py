"""Which detections must survive coding, and when they count as surviving."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from vcm.models.detector import Detection, box_iou
from vcm.models.movenet import Pose
from vcm.tasks.pose import pose_survives
from vcm.tasks.registry import CLASS_SETS, DEFAULT_CLASSES, DETECT_MIN_SCORE


@dataclass(frozen=True)
class TargetSpec:
    """Targets are original detections with score >= min_score ('all'), or only the
    clip's best-scoring object tracked across frames by IoU ('top1'). A target
    survives when a detection of its class has score >= keep_score (default min_score)
    and IoU >= min_iou. A planner given a lower keep_score trades accuracy for rate.
    A pose target (one with keypoints) survives when a pose has OKS >= min_oks with it.
    classes: the class names of interest (default the surveillance set, people and vehicles;
    empty: every class)."""

    mode: str = "all"
    min_score: float = DETECT_MIN_SCORE
    min_iou: float = 0.5
    keep_score: float | None = None
    min_oks: float = 0.5
    classes: tuple[str, ...] = CLASS_SETS[DEFAULT_CLASSES]

    def __post_init__(self) -> None:
        if self.mode not in ("all", "top1"):
            raise ValueError(f"targets must be 'all' or 'top1', got {self.mode!r}")

    def of_interest(self, detections: Sequence[Detection]) -> list[Detection]:
        """The detections of the classes of interest (all of them when classes is empty)."""
        if not self.classes:
            return list(detections)
        return [d for d in detections if d.class_name in self.classes]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def keep_threshold(target: Detection, spec: TargetSpec, safety: float = 0.0) -> float:
    """The score `target` must keep: keep_score (default min_score), raised by `safety`
    times the target's own headroom above it (a planning margin; 0 when evaluating)."""
    threshold = spec.min_score if spec.keep_score is None else spec.keep_score
    return threshold + safety * max(target.score - threshold, 0.0)


def survives(target: Detection, found: Sequence[Detection], spec: TargetSpec, safety: float = 0.0) -> bool:
    """Whether `target` is still detected among `found`. A pose must keep OKS >= min_oks,
    raised by `safety` times the headroom 1 - min_oks (a planning margin)."""
    if target.keypoints:
        required = spec.min_oks + safety * (1.0 - spec.min_oks)
        return pose_survives(Pose(target.keypoints), [Pose(d.keypoints) for d in found if d.keypoints],
                             required)
    threshold = keep_threshold(target, spec, safety)
    return any(d.class_id == target.class_id and d.score >= threshold
               and box_iou(d.box, target.box) >= spec.min_iou for d in found)


def survival(targets: Sequence[Detection], found: Sequence[Detection], spec: TargetSpec,
             safety: float = 0.0) -> list[bool]:
    """Per target, whether it is still detected among `found` (see survives)."""
    return [survives(target, found, spec, safety) for target in targets]


def select_targets(detections: Sequence[Sequence[Detection]], spec: TargetSpec) -> list[list[Detection]]:
    """Per frame, the targets among the original's detections."""
    confident = [[d for d in spec.of_interest(frame) if d.score >= spec.min_score] for frame in detections]
    if spec.mode == "all":
        return confident
    return _track_top1(confident, spec.min_iou)


def best_match(previous: Detection, candidates: Sequence[Detection], min_iou: float) -> Detection | None:
    """The candidate of previous's class that overlaps it most, if that IoU >= min_iou
    (IoU tracking from one frame to the next)."""
    same = [d for d in candidates if d.class_id == previous.class_id]
    match = max(same, key=lambda d: box_iou(d.box, previous.box), default=None)
    return match if match is not None and box_iou(match.box, previous.box) >= min_iou else None


def _track_top1(confident: list[list[Detection]], min_iou: float) -> list[list[Detection]]:
    """Follow the clip's highest-scoring detection forwards and backwards by best IoU."""
    best = max(((index, d) for index, frame in enumerate(confident) for d in frame),
               key=lambda item: item[1].score, default=None)
    tracked: list[list[Detection]] = [[] for _ in confident]
    if best is None:
        return tracked
    start, anchor = best
    tracked[start] = [anchor]
    for order in (range(start + 1, len(confident)), range(start - 1, -1, -1)):
        previous = anchor
        for index in order:
            match = best_match(previous, confident[index], min_iou)
            if match is not None:
                tracked[index] = [match]
                previous = match
    return tracked
