"""The pre-editors shipped with vcm: small, finished training runs. On frames their training did
not see, the one for machines saves real x265 bits at a small MS-SSIM cost while the detector
still finds what it found before; the one for people raises VMAF and VMAF-NEG at about the
same bytes."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.codec import decode
from vcm.eval.detection_ap import mean_average_precision
from vcm.eval.vmaf import vmaf_scores
from vcm.media import FrameSource, fetch_sample, rgb_to_yuv420
from vcm.media.quality import luma_ms_ssim
from vcm.media.samples import SAMPLE_SPLITS
from vcm.models import YoloV3Tiny
from vcm.pipeline import Edits, Verification, run_method
from vcm.planners import PlanSettings
from vcm.preedit.network import DEFAULT_MODEL, SHIPPED, load_preeditor, model_path


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_models_are_small_and_finished_runs(name: str) -> None:
    path = model_path(name)
    assert path.stat().st_size < 5_000_000
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["step"] == payload["train"]["steps"]
    assert load_preeditor(name) is not None
    assert DEFAULT_MODEL in SHIPPED


def test_shipped_people_model_looks_better_at_about_the_same_bytes(tmp_path: Path,
                                                                   detector: YoloV3Tiny) -> None:
    """Eight frames of the sample's test range (nothing trained or chosen on them), uniform QP 34
    through the pipeline `vcm encode --preedit people` takes, judged by libvmaf."""
    first = SAMPLE_SPLITS["test"][0] + 16
    with FrameSource(fetch_sample(), start=first, max_frames=8) as source:
        held_out = np.stack(list(source))
    results = {}
    for name, edits in (("plain", Edits()), ("people", Edits(preeditor=load_preeditor("people")))):
        out = tmp_path / f"{name}.mp4"
        report = run_method("uniform", held_out, 10.0, out, detector, PlanSettings(qp=34), edits=edits,
                            verify=Verification(enabled=False))
        results[name] = (report.total_bytes, vmaf_scores(held_out, decode(out, read_qp=False).rgb))
    (plain_bytes, plain), (edited_bytes, edited) = results["plain"], results["people"]
    assert edited_bytes < 1.05 * plain_bytes
    assert edited.vmaf > plain.vmaf + 2.0, (edited.vmaf, plain.vmaf)
    assert edited.vmaf_neg > plain.vmaf_neg + 1.0, (edited.vmaf_neg, plain.vmaf_neg)


def test_shipped_model_saves_bits_on_held_out_frames(tmp_path: Path, frames: np.ndarray,
                                                     detector: YoloV3Tiny) -> None:
    """Through the path `vcm encode --preedit` and `vcm eval` take by default: the pipeline
    detects on the original and the pre-editor leaves those boxes as they are."""
    held_out = frames[:6]  # the shipped model was trained on frames 400 onwards
    truth = detector.detect(held_out)
    boxes = np.zeros(held_out.shape[:3], dtype=bool)
    for index, found in enumerate(truth):
        for detection in found:
            x1, y1, x2, y2 = (int(v) for v in detection.box)
            boxes[index, max(y1, 0):y2, max(x1, 0):x2] = True
    original_luma = np.stack([rgb_to_yuv420(frame)[0] for frame in held_out])
    results = {}
    for name, edits in (("plain", Edits()), ("edited", Edits(preeditor=load_preeditor()))):
        out = tmp_path / f"{name}.mp4"
        report = run_method("uniform", held_out, 10.0, out, detector, PlanSettings(qp=30), edits=edits,
                            verify=Verification(enabled=False))
        video = decode(out, read_qp=False)
        luma = video.luma
        results[name] = (report.total_bytes, luma_ms_ssim(original_luma, luma), detector.detect(video.rgb),
                         _psnr(original_luma[boxes], luma[boxes]), _psnr(original_luma[~boxes], luma[~boxes]))
    plain, edited = results["plain"], results["edited"]
    assert edited[0] < 0.9 * plain[0]
    assert edited[1] > plain[1] - 0.01
    assert mean_average_precision(truth, edited[2]) > 0.9
    assert abs(edited[3] - plain[3]) < 0.5, (edited[3], plain[3])  # the boxes: coded as they were
    assert edited[4] < plain[4] - 1.0, (edited[4], plain[4])  # the rest: edited


def _psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    error = np.mean((original.astype(np.float64) - decoded) ** 2)
    return float(10 * np.log10(255.0**2 / error))
