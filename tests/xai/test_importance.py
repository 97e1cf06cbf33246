import numpy as np

from vcm.models import YoloV3Tiny
from vcm.xai import block_sums, difference_map, selective_gradient


def test_block_sums_pad_edges() -> None:
    values = np.ones((10, 17))
    sums = block_sums(values, 8)
    assert sums.shape == (2, 3)
    assert sums[0, 0] == 64 and sums[1, 2] == 2 * 1 and sums.sum() == 170


def test_difference_map_is_zero_for_equal_frames(frames: np.ndarray) -> None:
    assert difference_map(frames[0], frames[0]).max() == 0
    assert difference_map(frames[0], frames[1]).max() > 0


def test_selective_gradient_concentrates_on_its_target(frames: np.ndarray, detector: YoloV3Tiny) -> None:
    detections = [d for d in detector.detect(frames[:1])[0] if d.score >= 0.7]
    first, second = detections[0], detections[1]
    gradient = selective_gradient(detector, frames[0], [first])
    assert gradient.shape == frames.shape[1:3]

    def mass(detection) -> float:
        x1, y1, x2, y2 = (int(v) for v in detection.box)
        return float(gradient[y1:y2, x1:x2].sum())

    assert mass(first) > 5 * mass(second)
