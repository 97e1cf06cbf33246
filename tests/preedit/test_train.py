"""Training through the proxy: a few real steps, checkpoints and resuming."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vcm.api.playback import write_video
from vcm.errors import InputError
from vcm.media import FrameSource
from vcm.models import YoloV3Tiny, load_detector
from vcm.preedit.network import PreEditor, load_preeditor
from vcm.preedit.train import Objective, TrainConfig, random_crops, random_qp_maps, train, training_frames


def test_training_lowers_loss_and_bits_on_a_fixed_batch(tmp_path: Path, frames: np.ndarray,
                                                        detector: YoloV3Tiny) -> None:
    patch = np.ascontiguousarray(frames[:1, 200:264, 300:364])  # the only 64x64 crop there is to train on
    config = TrainConfig(steps=10, batch=2, crop=64, checkpoint_every=5, qp_range=(30, 30))
    network = PreEditor().eval()
    start = copy.deepcopy(network)
    history = train(patch, tmp_path / "model.pt", detector, config, network=network)
    assert [entry["step"] for entry in history] == [5, 10]
    # the batch every step drew from: the crop and its mirror image, coded at QP 30
    batch = torch.from_numpy(np.concatenate([patch, patch[:, :, ::-1]])).permute(0, 3, 1, 2).float() / 255.0
    objective = Objective(detector, config.weights, config.quantizer_sharpness)
    qp = torch.full((2, 4, 4), 30.0)
    with torch.no_grad():
        before = objective.terms(batch, start(batch), qp)
        after = objective.terms(batch, network.eval()(batch), qp)
    assert after["total"] < 0.97 * before["total"], (before["total"], after["total"])
    assert after["bpp"] < 0.99 * before["bpp"], (before["bpp"], after["bpp"])


def test_training_checkpoints_and_resumes(tmp_path: Path, frames: np.ndarray, detector: YoloV3Tiny) -> None:
    out = tmp_path / "model.pt"
    config = TrainConfig(steps=2, batch=2, crop=64, checkpoint_every=1)
    history = train(frames[:4], out, detector, config)
    assert [entry["step"] for entry in history] == [1, 2]
    assert all(np.isfinite(entry["total"]) and entry["bpp"] > 0 for entry in history)
    image = torch.from_numpy(frames[:1, :64, :64].copy()).permute(0, 3, 1, 2).float() / 255.0
    moved = load_preeditor(out).blend_weights(image) - PreEditor().blend_weights(image)
    assert moved.abs().max() > 0  # the checkpoint holds the trained weights, not the initial ones
    longer = train(frames[:4], out, detector, TrainConfig(steps=3, batch=2, crop=64, checkpoint_every=1))
    assert [entry["step"] for entry in longer] == [1, 2, 3]
    state = torch.load(out, weights_only=True)
    assert state["step"] == 3 and state["detector"] == "yolov3-tiny"
    with pytest.raises(InputError, match="other settings"):
        train(frames[:4], out, detector, TrainConfig(steps=4, batch=2, crop=96))
    with pytest.raises(InputError, match="yolov3-tiny detector's task term, not nanodet's"):
        train(frames[:4], out, load_detector("nanodet"), TrainConfig(steps=4, batch=2, crop=64))


def test_crops_must_fit_the_frames(frames: np.ndarray) -> None:
    crops = random_crops(frames[:2], 3, 64, np.random.default_rng(0))
    assert crops.shape == (3, 3, 64, 64) and crops.min() >= 0 and crops.max() <= 1
    mixed = [frames[0], np.ascontiguousarray(frames[1, :100, :70])]  # clips of different sizes
    crops = random_crops(mixed, 16, 64, np.random.default_rng(0))
    assert crops.shape == (16, 3, 64, 64)
    with pytest.raises(InputError, match="70x100 are smaller"):
        random_crops(mixed, 1, 96, np.random.default_rng(0))
    with pytest.raises(InputError, match="smaller than"):
        random_crops(frames[:1, :32, :32], 1, 64, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["nanodet", "pose"])
def test_the_task_term_works_with_other_task_models(frames: np.ndarray, name: str) -> None:
    from vcm.models import load_detector
    from vcm.preedit.losses import LossWeights
    from vcm.tasks import load_task_model

    model = load_task_model("pose") if name == "pose" else load_detector(name)
    objective = Objective(model, LossWeights(perceptual=0.0))
    crop = torch.from_numpy(frames[:1, 150:278, 450:578].copy()).permute(0, 3, 1, 2).float() / 255.0
    assert objective.task_distance(crop, crop).item() == pytest.approx(0.0, abs=1e-9)
    blurred = torch.nn.functional.avg_pool2d(crop, 9, stride=1, padding=4, count_include_pad=False)
    edited = blurred.clone().requires_grad_(True)
    distance = objective.task_distance(edited, crop)
    distance.backward()
    assert distance.item() > 0 and edited.grad is not None and edited.grad.abs().sum() > 0


def test_pairs_are_a_frame_and_the_next(tmp_path: Path, frames: np.ndarray) -> None:
    video = tmp_path / "clip.mp4"
    write_video(frames[:6], video, fps=10)
    with FrameSource(video) as source:
        decoded = list(source)
    pairs = training_frames([video], start=1, stride=2, pairs=True)  # frames 1 and 3 (5 has no successor)
    image = tmp_path / "still.png"
    Image.fromarray(frames[0]).save(image)
    with pytest.raises(InputError, match="videos of at least two frames"):
        training_frames([image], pairs=True)
    assert [pair.shape for pair in pairs] == [(576, 768, 6)] * 2
    for pair, first in zip(pairs, (1, 3), strict=True):
        assert np.array_equal(pair[..., :3], decoded[first])
        assert np.array_equal(pair[..., 3:], decoded[first + 1])


@pytest.mark.slow
def test_training_on_pairs_counts_the_p_frames(tmp_path: Path, frames: np.ndarray,
                                               detector: YoloV3Tiny) -> None:
    pairs = [np.concatenate([frames[0], frames[1]], axis=2)]
    config = TrainConfig(steps=2, batch=2, crop=64, checkpoint_every=1, p_frames=31)
    history = train(pairs, tmp_path / "model.pt", detector, config)
    assert all(np.isfinite(entry["total"]) and entry["bpp"] > 0 for entry in history)
    batch = random_crops(pairs, 4, 64, np.random.default_rng(0))
    qp = torch.full((4, 4, 4), 30.0)
    with torch.no_grad():
        gop = Objective(detector, config.weights, config.quantizer_sharpness, 31).terms(batch, batch, qp)
        second = batch[:, 3:]
        intra = Objective(detector, config.weights, config.quantizer_sharpness).terms(second, second, qp)
    assert gop["bpp"] < 0.5 * intra["bpp"]  # a static camera's P-frames cost little
    with pytest.raises(InputError, match="6 channels"):
        train(frames[:2], tmp_path / "other.pt", detector, config)


def test_random_qp_maps_hold_lower_rectangles() -> None:
    generator = np.random.default_rng(0)
    maps = random_qp_maps(200, 8, (22, 51), generator, per_block=True).numpy()
    assert maps.shape == (200, 8, 8) and maps.min() >= 22 and maps.max() <= 51
    uniform = (maps == maps[:, :1, :1]).all(axis=(1, 2))
    assert 0.35 < uniform.mean() < 0.75  # about half keep one QP (a rectangle can repeat the crop's QP)
    # where a crop's map varies, the rectangle is lower than the rest and rectangular
    for crop in maps[~uniform]:
        background = crop.max()
        rows, cols = np.nonzero(crop < background)
        assert (crop[rows.min():rows.max() + 1, cols.min():cols.max() + 1] < background).all()
    plain = random_qp_maps(50, 8, (30, 30), generator, per_block=False).numpy()
    assert (plain == 30).all()


@pytest.mark.slow
def test_qp_aware_training_with_p_frames_saves_its_kind_and_calibration(tmp_path: Path, frames: np.ndarray,
                                                                        detector: YoloV3Tiny) -> None:
    pairs = [np.concatenate([frames[i], frames[i + 1]], axis=2) for i in range(3)]
    out = tmp_path / "aware.pt"
    config = TrainConfig(steps=2, batch=2, crop=64, checkpoint_every=1, qp_aware=True, p_frames=31,
                         qp_range=(22, 51))
    train(pairs, out, detector, config)
    state = torch.load(out, weights_only=True)
    assert state["config"]["qp_aware"] is True and 0 < state["inter_scale"] < 1
    assert load_preeditor(out).qp_aware
    with pytest.raises(InputError, match="other settings"):
        train(pairs, out, detector, TrainConfig(steps=3, batch=2, crop=64, checkpoint_every=1, p_frames=31,
                                                qp_range=(22, 51)))


def test_vmaf_neg_distance_grows_with_blur_and_has_a_gradient(frames: np.ndarray) -> None:
    from vcm.preedit.losses import VmafNegDistance

    luma = torch.from_numpy(frames[:2, 100:228, 200:328].mean(axis=3, dtype=np.float32))[:, None]
    blurred = torch.nn.functional.avg_pool2d(luma, 5, stride=1, padding=2, count_include_pad=False)
    distance = VmafNegDistance()
    same, worse = distance(luma, luma), distance(blurred.requires_grad_(True), luma)
    assert (same < 0.05).all() and (worse > same + 0.1).all()
    worse.sum().backward()
    assert blurred.grad is not None and blurred.grad.abs().sum() > 0


def test_training_on_the_vmaf_neg_term_alone_undoes_a_blur(tmp_path: Path, frames: np.ndarray,
                                                           detector: YoloV3Tiny) -> None:
    """An editor that starts by blurring everything (sigma 2.4) learns, from VMAF-NEG alone, to
    keep detail: the term's gradient reaches the edit through the codec proxy."""
    from vcm.preedit.losses import LossWeights

    patch = np.ascontiguousarray(frames[:1, 200:264, 300:364])
    network = PreEditor()
    with torch.no_grad():
        network.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 4.0]))  # keep, blur 0.6, 1.2, 2.4 px
    weights = LossWeights(rate=0.0, fidelity=0.0, perceptual=0.0, task=0.0, vmaf=1.0)
    history = train(patch, tmp_path / "model.pt", detector,
                    TrainConfig(steps=12, batch=2, crop=64, checkpoint_every=6, qp_range=(30, 30),
                                weights=weights), network=network)
    first, last = history[0]["vmaf_neg_loss"], history[-1]["vmaf_neg_loss"]
    assert 0 < last < 0.9 * first, (first, last)


def test_flicker_counts_only_an_edit_that_changes_between_frames() -> None:
    from vcm.preedit.losses import edit_flicker

    pair = torch.rand(2, 6, 32, 32)
    steady = pair + 0.1  # the same edit on both frames
    assert float(edit_flicker(pair, steady)) == pytest.approx(0.0, abs=1e-6)
    flickering = pair.clone()
    flickering[:, 3:] += 0.1  # only the second frame edited
    assert float(edit_flicker(pair, flickering)) == pytest.approx(0.1, abs=1e-5)
    from vcm.preedit.losses import LossWeights

    with pytest.raises(ValueError, match="p_frames"):
        TrainConfig(weights=LossWeights(stability=1.0))


def test_a_residual_editor_trains_and_resumes_only_as_itself(tmp_path: Path, frames: np.ndarray,
                                                             detector: YoloV3Tiny) -> None:
    patch = np.ascontiguousarray(frames[:2, 200:264, 300:364])
    out = tmp_path / "residual.pt"
    config = TrainConfig(steps=2, batch=2, crop=64, checkpoint_every=1, residual=8 / 255, width=16)
    train(patch, out, detector, config)
    network = load_preeditor(out)
    assert network.residual == pytest.approx(8 / 255) and network.width == 16
    assert network.correction is not None and network.correction.weight.abs().sum() > 0  # it moved
    with pytest.raises(InputError, match="other settings"):
        train(patch, out, detector, TrainConfig(steps=3, batch=2, crop=64, checkpoint_every=1, width=16))
    with pytest.raises(ValueError, match="network of"):
        train(patch, tmp_path / "other.pt", detector, config, network=PreEditor())
