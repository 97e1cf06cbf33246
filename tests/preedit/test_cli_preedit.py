"""`vcm preedit train`, `vcm encode --preedit` and `vcm eval` with METHOD+preedit, end to end."""

import csv
import json
from pathlib import Path

import pytest

from vcm.cli import main


@pytest.mark.slow
def test_train_encode_and_evaluate(tmp_path: Path, sample_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "clip.mp4"
    assert main(["encode", str(sample_path), "-o", str(clip), "--frames", "4", "--method", "uniform",
                 "--qp", "20"]) == 0
    model = tmp_path / "model.pt"
    assert main(["preedit", "train", str(clip), "--out", str(model), "--steps", "2", "--batch", "1",
                 "--crop", "64", "--checkpoint-every", "1"]) == 0
    assert "step 2" in capsys.readouterr().err
    stats = tmp_path / "stats.json"
    assert main(["encode", str(clip), "-o", str(tmp_path / "edited.mp4"), "--method", "uniform",
                 "--preedit", str(model), "--preedit-detections", "--stats", str(stats)]) == 0
    written = json.loads(stats.read_text())
    assert written["method"] == "uniform+preedit" and written["settings"]["preedit"]["edits_detections"]
    out = tmp_path / "eval"
    assert main(["eval", str(clip), "--methods", "uniform,uniform+preedit", "--preedit", str(model),
                 "--segment", "4", "--out", str(out)]) == 0
    with (out / "results.csv").open() as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"uniform", "uniform+preedit"}
    assert 0 < float(rows["uniform+preedit"]["ms_ssim_y"]) <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert {(e["method"], e["reference"]) for e in summary["bd_rate"]} == {("uniform+preedit", "uniform")}


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "{sample}", "--methods", "uniform+preedit", "--preedit", "{missing}", "--out", "{tmp}"],
     "no such pre-editor"),
    (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--preedit", "{missing}"], "no such pre-editor"),
    (["preedit", "train", "{sample}", "--out", "{model}", "--crop", "50"], "multiple of 16"),
    (["preedit", "train", "{sample}", "--out", "{model}", "--qp", "30", "20"], "LOW <= HIGH"),
    (["preedit", "train", "{missing}", "--out", "{model}"], "no such file"),
])
def test_preedit_input_errors(tmp_path: Path, sample_path: Path, capsys: pytest.CaptureFixture[str],
                              argv: list[str], message: str) -> None:
    names = {"sample": sample_path, "out": tmp_path / "out.mp4", "missing": tmp_path / "missing.pt",
             "model": tmp_path / "model.pt", "tmp": tmp_path / "eval"}
    code = main([arg.format(**names) for arg in argv])
    text = capsys.readouterr().err
    assert code == 1 and message in text and len(text.strip().splitlines()) == 1
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "model.pt").exists()
