"""The registry of machine tasks: one entry per task, read by the CLI, planners, evaluation,
privacy, the camera agent and search alike."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from vcm.errors import InputError
from vcm.models.detector import Detector
from vcm.models.detectors import DEFAULT_DETECTOR, load_detector
from vcm.registry import Registry

# named sets of COCO classes for --classes: a surveillance camera's people and vehicles, or all
CLASS_SETS = {"surveillance": ("person", "bicycle", "car", "motorcycle", "bus", "truck"), "all": ()}
DEFAULT_CLASSES = "surveillance"  # what a camera's machine task looks for unless told otherwise
DETECT_MIN_SCORE = 0.7  # a detection's score at which it is a target (the seed method's operating point)
POSE_MIN_SCORE = 0.3  # a pose's mean keypoint score at which it is a target


def class_names(text: str, where: str = "--classes") -> tuple[str, ...]:
    """Classes of interest as COCO names: a named set (CLASS_SETS) or comma-separated COCO
    names; InputError naming `where` otherwise."""
    from vcm.models.weights import coco_names

    if text in CLASS_SETS:
        return CLASS_SETS[text]
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in coco_names()]
    if unknown or not names:
        raise InputError(f"{where}: {', '.join(unknown) or repr(text)} not COCO class names (e.g. person, "
                         f"car, bicycle) nor a named set ({', '.join(CLASS_SETS)})")
    return names


@dataclass(frozen=True)
class Task:
    """A machine task. min_score: its operating score (a target has at least this score, and a
    kept target still reaches it); model(detector_name): the model whose outputs are kept
    (a pose model's detections carry keypoints, and vcm.tasks.targets.survives keeps those
    by OKS, boxes by class, score and IoU)."""

    name: str
    summary: str
    min_score: float
    model: Callable[[str], Detector]


@cache
def _pose_model(_: str) -> Detector:
    from vcm.models.pose_detector import PoseDetector

    return PoseDetector()


TASKS: Registry[Task] = Registry("task")
TASKS.register("detect", Task("detect", "objects found by --detector, kept by class, score and IoU",
                              DETECT_MIN_SCORE, load_detector))
TASKS.register("pose", Task("pose", "human poses (MoveNet keypoints, mean keypoint score), kept by "
                            "OKS >= 0.5", POSE_MIN_SCORE, _pose_model))


def task_entry(name: str) -> Task:
    """The task called `name` (InputError listing the tasks otherwise)."""
    return TASKS.entry(name)


def load_task_model(task: str, detector: str = DEFAULT_DETECTOR) -> Detector:
    """The model whose outputs `task` keeps: the named object detector for "detect", MoveNet
    poses (as person detections with keypoints) for "pose"."""
    return task_entry(task).model(detector)
