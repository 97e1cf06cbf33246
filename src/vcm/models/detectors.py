"""The registry of object detectors: `--detector NAME` everywhere resolves here."""

from collections.abc import Callable
from functools import cache
from pathlib import Path

from vcm.errors import InputError
from vcm.models.detector import BoxDetector, Detector

DEFAULT_DETECTOR = "nanodet"  # chosen by measurement: README "Task models"
ONNX_PREFIX = "onnx:"


def _yolov3_tiny() -> BoxDetector:
    from vcm.models.yolo import YoloV3Tiny

    return YoloV3Tiny()


def _nanodet() -> BoxDetector:
    from vcm.models.nanodet import NanoDet

    return NanoDet()


def _centernet() -> BoxDetector:
    from vcm.models.centernet import CenterNet

    return CenterNet()


DETECTORS: dict[str, Callable[[], BoxDetector]] = {
    "yolov3-tiny": _yolov3_tiny,
    "nanodet": _nanodet,
    "centernet": _centernet,
}


def detector_names() -> list[str]:
    """Names accepted by --detector (an ONNX file as onnx:PATH besides)."""
    return [*DETECTORS, f"{ONNX_PREFIX}MODEL.onnx"]


def check_detector_name(name: str) -> str:
    """`name` if it names a detector (for argparse), else InputError with the choices."""
    if name in DETECTORS:
        return name
    if name.startswith(ONNX_PREFIX):
        path = Path(name[len(ONNX_PREFIX):])
        if not path.is_file():
            raise InputError(f"ONNX model {path} not found")
        return name
    raise InputError(f"unknown detector {name!r}; available: {', '.join(detector_names())}")


@cache
def load_detector(name: str = DEFAULT_DETECTOR) -> BoxDetector:
    """The named detector, built once per process."""
    check_detector_name(name)
    if name.startswith(ONNX_PREFIX):
        from vcm.models.onnx_detector import OnnxDetector

        return OnnxDetector(Path(name[len(ONNX_PREFIX):]))
    return DETECTORS[name]()


# Machine tasks a planner can protect: objects (the --detector's boxes) or human poses.
TASKS = ("detect", "pose")
# Default target score per task: a detection's score, or a pose's mean keypoint score.
TASK_MIN_SCORE = {"detect": 0.7, "pose": 0.3}


def load_task_model(task: str, detector: str = DEFAULT_DETECTOR) -> Detector:
    """The model whose outputs a task keeps: the named object detector for "detect",
    MoveNet poses (as person detections with keypoints) for "pose"."""
    if task == "detect":
        return load_detector(detector)
    if task == "pose":
        return _pose_detector()
    raise InputError(f"unknown task {task!r}; available: {', '.join(TASKS)}")


@cache
def _pose_detector() -> Detector:
    from vcm.models.pose_detector import PoseDetector

    return PoseDetector()
