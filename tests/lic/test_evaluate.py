"""Evaluation arithmetic on hand-made curves, and the JPEG anchor on a real frame."""

import numpy as np
import pytest
import torch

from vcm.lic.evaluate import Point, gap_recovered, jpeg
from vcm.media.quality import luma_psnr


def _points(method: str, rates: list[float]) -> list[Point]:
    metrics = [0.5, 0.7, 0.9]
    pairs = zip(rates, metrics, strict=True)
    return [Point(method, "detect", str(i), bpp, m) for i, (bpp, m) in enumerate(pairs)]


def test_gap_recovered_is_the_share_of_the_bits_fine_tuning_saves() -> None:
    points = _points("lic-base", [0.2, 0.4, 0.8]) + _points("lic-finetuned", [0.1, 0.2, 0.4])  # -50 %
    assert gap_recovered(points + _points("lic-adapters", [0.15, 0.3, 0.6]), "detect") == pytest.approx(0.5)
    assert gap_recovered(points + _points("lic-adapters", [0.2, 0.4, 0.8]), "detect") == pytest.approx(0.0)
    worse = gap_recovered(points + _points("lic-adapters", [0.3, 0.6, 1.2]), "detect")
    assert worse == pytest.approx(-1.0)  # adapters that cost 50 % more bits lose a whole gap
    no_gap = _points("lic-base", [0.2, 0.4, 0.8]) + _points("lic-finetuned", [0.2, 0.4, 0.8])
    assert gap_recovered(no_gap + _points("lic-adapters", [0.1, 0.2, 0.4]), "detect") is None


def test_jpeg_anchor_spends_more_bits_for_more_quality(frames: np.ndarray) -> None:
    low, low_bytes = jpeg(frames[0], 10)
    high, high_bytes = jpeg(frames[0], 75)
    assert low_bytes < high_bytes
    assert luma_psnr(frames[0], low) < luma_psnr(frames[0], high)


def test_classes_of_a_small_picture_come_from_six_tiles(frames: np.ndarray) -> None:
    from vcm.lic.evaluate import TaskMetrics

    small = frames[0, 100:244, 200:376]  # 176x144, as carphone
    metrics = TaskMetrics([small])
    assert metrics.reference_classes.shape == (6,)
    assert metrics.score("classify", [small]) == 1.0
    assert metrics.score("detect", [small]) == 1.0


def test_the_base_curve_gives_every_task_peoples_picture(frames: np.ndarray) -> None:
    from vcm.lic.coding import LearnedCodec
    from vcm.lic.evaluate import TaskMetrics, evaluate

    codec = LearnedCodec.load()
    with torch.no_grad():  # the classification adapter now decodes a scrambled picture
        codec.model.decoder_adapters["classify"][2].expand.bias.fill_(10.0)
    frame = frames[0]
    metrics = TaskMetrics([frame])
    top = codec.qualities
    z_string, y_string = codec.encode_picture(frame, top, machine=False)
    people = codec.decode_picture(z_string, y_string, 768, 576, top)
    scrambled = codec.decode_picture(z_string, y_string, 768, 576, top, "classify")
    assert luma_psnr(people, scrambled) < 15
    assert metrics.score("classify", [people]) != metrics.score("classify", [scrambled])
    points = evaluate([frame], codec, {}, methods=("lic-base",), metrics=metrics)
    found = next(p for p in points if p.task == "classify" and p.setting == f"q{top}")
    assert found.metric == metrics.score("classify", [people])


def test_detection_is_measured_only_on_frames_holding_an_object(frames: np.ndarray) -> None:
    from vcm.lic.evaluate import holding_objects
    from vcm.models.yolo import YoloV3Tiny

    detector = YoloV3Tiny()
    blank = np.full_like(frames[0], 128)
    kept = list(holding_objects([frames[0], blank, frames[1]], detector))
    assert not any(frame is blank for frame in kept)
    for frame in kept:
        assert max(d.score for d in detector.detect([frame])[0]) >= 0.7
    assert len(kept) == 2  # the sample's street scene holds people or cars at score 0.7


def test_a_task_subset_scores_only_those_tasks(frames: np.ndarray) -> None:
    from vcm.lic.coding import LearnedCodec
    from vcm.lic.evaluate import TaskMetrics, evaluate

    small = [frames[0, :256, :320]]
    metrics = TaskMetrics(small, ("detect",))
    assert len(metrics.reference_classes) == 0  # no classification reference was computed
    points = evaluate(small, LearnedCodec.load(), {}, methods=("lic-base", "jpeg"), metrics=metrics,
                      tasks=("detect",))
    assert {p.task for p in points} == {"detect"}
    assert {p.method for p in points} == {"lic-base", "jpeg"}


def test_each_frame_set_gives_its_tasks_their_own_bits(frames: np.ndarray) -> None:
    from vcm.lic.coding import LearnedCodec
    from vcm.lic.evaluate import evaluate_sets

    sets = {("human",): [frames[0, :128, :192]], ("detect",): [frames[1]]}
    points = evaluate_sets(sets, LearnedCodec.load(), {}, methods=("jpeg",))
    rates = {task: {p.bpp for p in points if p.task == task} for task in ("human", "detect")}
    assert {p.task for p in points} == {"human", "detect"}
    assert rates["human"] != rates["detect"]  # each curve's bits are over its own frames
