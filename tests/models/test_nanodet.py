import numpy as np
import pytest
import torch

from vcm.models import load_detector
from vcm.models.detector import BoxDetector
from vcm.models.nanodet import OUTPUTS
from vcm.models.tfjs.reference import run_reference

from .checks import assert_gradient_is_local, assert_same_detections


@pytest.fixture(scope="module")
def nanodet() -> BoxDetector:
    return load_detector("nanodet")


@pytest.mark.slow
def test_matches_tensorflow_js_on_a_frame(frames: np.ndarray, nanodet: BoxDetector) -> None:
    frame = frames[0]
    reference = run_reference("nanodet", frame)
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).unsqueeze(0)
    with torch.no_grad():
        outputs = nanodet.raw_outputs(nanodet.network_input(image))
    for name, ours in zip([n for pair in OUTPUTS for n in pair], outputs, strict=True):
        assert np.abs(ours.numpy() - reference.raw[name]).max() < 1e-4, name
    ours = nanodet.detect(frame[None])[0]
    assert_same_detections(ours, reference.results)


def test_finds_the_people_of_the_sample(frames: np.ndarray, nanodet: BoxDetector) -> None:
    for detections in nanodet.detect(frames[:3]):
        people = [d for d in detections if d.class_name == "person" and d.score >= 0.5]
        assert len(people) >= 2
        for d in detections:
            x1, y1, x2, y2 = d.box
            assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576


def test_target_score_gradient_is_local(frames: np.ndarray, nanodet: BoxDetector) -> None:
    target = max(nanodet.detect(frames[:1])[0], key=lambda d: d.score)
    assert_gradient_is_local(nanodet, frames[0], target)
