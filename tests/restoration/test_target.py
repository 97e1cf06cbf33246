"""A restoration layer coded to a quality target: the restored segment reaches a uniform-QP
encode's PSNR (measured here with the real encoder and an independent PSNR), in few encodes."""

import numpy as np
import pytest

from vcm.codec import QPMap, decode, encode
from vcm.errors import InputError
from vcm.restoration import read_layer, restore_frames
from vcm.restoration.target import QualityTarget, _next_quality, encode_layer_to_target

FPS = 10.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Luma PSNR with BT.601 weights, written here on its own (not with the code under test)."""
    weights = np.array([0.299, 0.587, 0.114])
    difference = a.astype(np.float64) @ weights - b.astype(np.float64) @ weights
    return float(10 * np.log10(255.0**2 / np.mean(difference**2)))


@pytest.fixture(scope="module")
def segment(frames: np.ndarray, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(originals, machine QPs, decoded machine frames, PSNR of a uniform QP 27 encode): 12
    frames of the sample at 384x288, the machine stream keeping a band at QP 30, the rest 51."""
    clip = frames[:12].reshape(12, 288, 2, 384, 2, 3).mean(axis=(2, 4)).round().astype(np.uint8)
    qp = np.full((12, 18, 24), 51, np.int16)
    qp[:, 6:12, 6:18] = 30
    folder = tmp_path_factory.mktemp("target")
    encode(clip, [QPMap.from_blocks(q) for q in qp], folder / "machine.mp4", fps=FPS, gop=12)
    encode(clip, 27, folder / "qp27.mp4", fps=FPS, gop=12)
    machine, reference = decode(folder / "machine.mp4").rgb, decode(folder / "qp27.mp4").rgb
    assert machine is not None and reference is not None
    return clip, qp, machine, _psnr(clip, reference)


def test_the_restored_segment_reaches_the_reference_psnr(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> None:
    clip, qp, machine, reference_db = segment
    assert _psnr(clip, machine) < reference_db - 3  # the machine stream alone is far below it
    result = encode_layer_to_target(clip, qp, machine, fps=FPS, target=QualityTarget(27, 0.3))
    restored = np.stack(list(restore_frames(machine, result.layer)))
    assert result.met and result.tries <= 5
    assert read_layer(result.layer).quality == result.quality
    assert _psnr(clip, restored) >= reference_db - 0.3 - 0.05  # 0.05: this PSNR's weights differ slightly
    # a stricter target needs a finer (larger) layer
    strict = encode_layer_to_target(clip, qp, machine, fps=FPS, target=QualityTarget(24, 0.0))
    assert strict.quality < result.quality and len(strict.layer) > len(result.layer)


def test_the_search_jumps_by_the_shortfall_then_bisects_then_stops() -> None:
    layer = b""
    assert _next_quality({31: (layer, 36.0)}, floor=38.0) == 26  # 2 dB short, 0.4 dB per QP
    assert _next_quality({31: (layer, 36.0), 26: (layer, 38.5)}, floor=38.0) == 28  # between
    assert _next_quality({31: (layer, 36.0), 28: (layer, 38.1), 29: (layer, 37.8)}, floor=38.0) is None
    assert _next_quality({31: (layer, 39.0)}, floor=38.0) == 32  # room: one step cheaper
    assert _next_quality({31: (layer, 38.1)}, floor=38.0) is None  # no room
    assert _next_quality({0: (layer, 30.0)}, floor=38.0) is None  # nothing finer to try


@pytest.mark.parametrize("reference_qp, tolerance_db", [(-1, 0.3), (52, 0.3), (27, -0.1), (27, float("nan"))])
def test_bad_targets_are_refused(reference_qp: int, tolerance_db: float) -> None:
    with pytest.raises(InputError, match="restoration's"):
        QualityTarget(reference_qp, tolerance_db)


def test_a_camera_coder_keeps_the_target_and_settles_on_one_method(
        segment: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> None:
    from vcm.restoration.target import CANDIDATE_METHODS, LayerCoder

    clip, qp, machine, reference_db = segment
    coder = LayerCoder(QualityTarget(27, 0.3), probe_every=3)
    first = coder.encode(clip, qp, machine, fps=FPS)
    assert first.met and first.method in CANDIDATE_METHODS
    assert first.tries <= 5
    # the next segment (the same frames here) starts at the quality chosen: one or two encodes
    second = coder.encode(clip, qp, machine, fps=FPS)
    assert second.method == first.method and second.quality == first.quality and second.tries <= 2
    restored = np.stack(list(restore_frames(machine, second.layer)))
    assert _psnr(clip, restored) >= reference_db - 0.3 - 0.05
    # a camera falling behind: one encode at the last checked quality, marked unchecked
    hurried = coder.encode(clip, qp, machine, fps=FPS, search=False)
    assert (hurried.method, hurried.quality, hurried.tries) == (second.method, second.quality, 1)
    assert not hurried.met
    assert np.isnan(hurried.restored_db) and read_layer(hurried.layer).quality == second.quality
    # the first segment of a camera is always searched
    assert LayerCoder(QualityTarget(27, 0.3)).encode(clip, qp, machine, fps=FPS, search=False).met
