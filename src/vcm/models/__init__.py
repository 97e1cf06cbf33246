"""Task models behind one interface (object detectors first), and their weights."""

from vcm.models.detector import BoxDetector, Detection, Detector
from vcm.models.detectors import DEFAULT_DETECTOR, DETECTORS, load_detector
from vcm.models.yolo import YoloV3Tiny

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "BoxDetector", "Detection", "Detector", "YoloV3Tiny",
           "load_detector"]
