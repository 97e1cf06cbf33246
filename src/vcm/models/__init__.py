"""Task models behind one interface (object detectors first), and their weights."""

from vcm.models.detector import Detection, Detector
from vcm.models.yolo import YoloV3Tiny, load_detector

__all__ = ["Detection", "Detector", "YoloV3Tiny", "load_detector"]
