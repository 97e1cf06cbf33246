import numpy as np
import pytest
import torch

from vcm.models import load_detector
from vcm.models.centernet import DISTANCES, HEATMAP
from vcm.models.detector import BoxDetector
from vcm.models.tfjs.reference import run_reference

from .checks import assert_same_detections


@pytest.fixture(scope="module")
def centernet() -> BoxDetector:
    return load_detector("centernet")


@pytest.mark.slow
def test_matches_the_models_own_decoding_in_tensorflow_js(frames: np.ndarray, centernet: BoxDetector) -> None:
    frame = frames[5]
    reference = run_reference("centernet", frame)
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).unsqueeze(0)
    with torch.no_grad():
        heatmap, distances = centernet.raw_outputs(image)
    assert np.abs(heatmap.numpy() - reference.raw[HEATMAP]).max() < 1e-4
    # distances are in input pixels (up to ~500): compare relative to their scale
    assert np.abs(distances.numpy() - reference.raw[DISTANCES]).max() < 1e-5 * 512
    ours = centernet.detect(frame[None])[0]
    assert_same_detections(ours, reference.results)
