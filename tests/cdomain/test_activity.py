"""`vcm activity`: the shipped model on recordings rendered with seeds no model saw, the cascade,
training and resuming, search on real sample content, and refusals."""

import json
from pathlib import Path

import numpy as np
import pytest

from vcm.cdomain.activity import classify_video
from vcm.cdomain.model import SHIPPED_MODEL, ActivityModel
from vcm.cdomain.synthetic import ACTIONS, WINDOW, crop_background, render_recording
from vcm.cli import main
from vcm.codec import encode

UNSEEN_SEED = 9001  # the data set uses seeds [0, split]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, frames: np.ndarray) -> tuple[Path, list[str]]:
    """A recording of every action and two more over a still real background (a cycled one would
    cut every 12 frames), H.264 at QP 28."""
    rng = np.random.default_rng(UNSEEN_SEED)
    actions = [*ACTIONS, "walk_right", "wave", *ACTIONS]
    background = crop_background(frames[np.zeros(len(actions) * WINDOW, dtype=int)], rng)
    video = tmp_path_factory.mktemp("activity") / "recording.mp4"
    encode(render_recording(actions, background, rng), 28, video, codec="h264", gop=WINDOW, fps=10)
    return video, actions


def test_the_shipped_model_recognises_unseen_recordings(recording: tuple[Path, list[str]],
                                                        tmp_path: Path) -> None:
    video, actions = recording
    out = tmp_path / "activity.json"
    assert main(["activity", str(video), "--json", str(out)]) == 0
    windows = json.loads(out.read_text())["windows"]
    assert [(w["first"], w["last"]) for w in windows] == [(i * WINDOW, i * WINDOW + WINDOW - 1)
                                                          for i in range(len(actions))]
    correct = np.mean([w["label"] == action for w, action in zip(windows, actions, strict=True)])
    assert correct >= 0.6  # 7 actions: chance is 0.14
    for window in windows:
        assert window["exit"] in ("mv", "mv+intra", "mv+intra+residual")
        assert sum(window["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert window["confidence"] == pytest.approx(max(window["scores"].values()), abs=1e-3)


def test_the_cascade_exits_by_its_threshold(recording: tuple[Path, list[str]]) -> None:
    video, _ = recording
    model = ActivityModel.load(SHIPPED_MODEL)
    full = list(classify_video(video, model, early_exit=False))
    assert {w.exit for w in full} == {"mv+intra+residual"}
    model.threshold = 0.0
    assert {w.exit for w in classify_video(video, model)} == {"mv"}
    model.threshold = 1.01
    assert [w.label for w in classify_video(video, model)] == [w.label for w in full]


@pytest.mark.slow
def test_train_writes_a_model_and_resumes_from_its_checkpoints(tmp_path: Path) -> None:
    data, model = tmp_path / "data", tmp_path / "model.pt"
    command = ["activity", "train", "--data", str(data), "--out", str(model), "--recordings", "1", "1",
               "--epochs", "1", "--tile-frames", "16", "--detector", "yolov3-tiny"]
    assert main(command) == 0
    checkpoints = sorted((data / "checkpoints" / "seed0").glob("*.pt"))
    assert {p.stem for p in checkpoints} >= {"alone-intra", "alone-mv", "alone-residual"}
    summary = json.loads(model.with_suffix(".json").read_text())
    assert sorted(summary["order"]) == ["intra", "mv", "residual"]
    assert 0.0 <= summary["search_threshold"] <= 1.0
    stamps = {p: p.stat().st_mtime_ns for p in checkpoints}
    first = ActivityModel.load(model)
    assert main(command) == 0
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == stamps  # nothing retrained
    again = ActivityModel.load(model)
    for stream, net in first.nets.items():
        for key, value in net.state_dict().items():
            assert np.array_equal(value.numpy(), again.nets[stream].state_dict()[key].numpy())


def test_search_runs_the_detector_only_on_flagged_windows(frames: np.ndarray, tmp_path: Path) -> None:
    tile = tmp_path / "tile.mp4"
    clip = frames[np.arange(2 * WINDOW) % len(frames), 300:492, 256:512]  # real people, real size
    encode(clip, 28, tile, codec="h264", gop=WINDOW, fps=10)
    out = tmp_path / "search.json"
    assert main(["activity", "search", str(tile), "--json", str(out), "--detector", "yolov3-tiny"]) == 0
    (stream,) = json.loads(out.read_text())["streams"]
    assert len(stream["scores"]) == len(stream["flagged"]) == 2
    flagged = [index for index, flag in enumerate(stream["flagged"]) if flag]
    assert [window["first"] // WINDOW for window in stream["found"]] == flagged


def test_refusals_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   recording: tuple[Path, list[str]]) -> None:
    assert main(["activity", str(tmp_path / "missing.mp4")]) == 1
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert main(["activity", str(recording[0]), "--model", str(bad)]) == 1
    assert "not an activity model" in capsys.readouterr().err
    hevc = tmp_path / "clip.mp4"
    encode(np.zeros((4, 64, 64, 3), np.uint8), 30, hevc, codec="hevc")
    assert main(["activity", str(hevc)]) == 1
    assert "--codec h264" in capsys.readouterr().err
    assert main(["activity", "train", "--data", str(tmp_path), "--out", str(tmp_path / "no" / "m.pt")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["activity", "train", "--data", str(hevc), "--out", str(tmp_path / "m.pt")]) == 1
    assert "output folder" in capsys.readouterr().err and not (tmp_path / "m.pt").exists()
