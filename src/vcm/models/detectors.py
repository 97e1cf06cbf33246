"""The registry of object detectors: `--detector NAME` everywhere resolves here."""

from collections.abc import Callable
from functools import cache
from pathlib import Path

from vcm.errors import InputError
from vcm.models.detector import BoxDetector
from vcm.models.framing import FRAMINGS, FramedDetector, UnionDetector
from vcm.registry import Registry, lazy

DEFAULT_DETECTOR = "nanodet"  # chosen by measurement: README "Task models"
ONNX_PREFIX = "onnx:"


DETECTORS: Registry[Callable[[], BoxDetector]] = Registry("detector")
DETECTORS.register("yolov3-tiny", lazy("vcm.models.yolo:YoloV3Tiny"))
DETECTORS.register("nanodet", lazy("vcm.models.nanodet:NanoDet"))
DETECTORS.register("centernet", lazy("vcm.models.centernet:CenterNet"))


def detector_names() -> list[str]:
    """Names accepted by --detector (an ONNX file as onnx:PATH besides)."""
    return [*DETECTORS, f"{ONNX_PREFIX}MODEL.onnx", *(f"NAME@{framing}" for framing in FRAMINGS), "NAME+NAME"]


def check_detector_name(name: str) -> str:
    """`name` if it names a detector (for argparse), else InputError with the choices. NAME@letterbox
    and NAME@tiles show the frames to NAME letterboxed or tiled, NAME+NAME unites several
    (vcm.models.framing)."""
    if "+" in name and not name.startswith(ONNX_PREFIX):
        for part in name.split("+"):
            check_detector_name(part)
        return name
    base, _, framing = name.partition("@")
    if framing:
        if framing not in FRAMINGS:
            raise InputError(f"unknown framing {framing!r} in {name!r}; choose from {', '.join(FRAMINGS)}")
        check_detector_name(base)
        return name
    if name in DETECTORS:
        return name
    if name.startswith(ONNX_PREFIX):
        path = Path(name[len(ONNX_PREFIX):])
        if not path.is_file():
            raise InputError(f"ONNX model {path} not found")
        return name
    raise InputError(f"unknown detector {name!r}; choose from {', '.join(detector_names())}")


@cache
def load_detector(name: str = DEFAULT_DETECTOR) -> BoxDetector:
    """The named detector, built once per process."""
    check_detector_name(name)
    if "+" in name and not name.startswith(ONNX_PREFIX):
        return UnionDetector([load_detector(part) for part in name.split("+")])
    base, _, framing = name.partition("@")
    if framing:
        return FramedDetector(load_detector(base), framing)
    if name.startswith(ONNX_PREFIX):
        from vcm.models.onnx_detector import OnnxDetector

        return OnnxDetector(Path(name[len(ONNX_PREFIX):]))
    return DETECTORS[name]()

