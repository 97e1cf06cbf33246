import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from vcm.cli import build_parser, main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["detect"], ["encode"], ["eval"], ["privacy"], ["preedit", "train"], ["info"],
                    ["fetch"], ["demo"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: vcm" in capsys.readouterr().out


def test_encode_with_map_and_stats(tmp_path: Path, sample_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    qp_map = np.full((36, 48), 40, dtype=np.int32)
    qp_map[10:20, 10:20] = 24
    np.save(tmp_path / "map.npy", qp_map)
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    code, text = _run(capsys, "encode", str(sample_path), "-o", str(out), "--frames", "3",
                      "--qp-map", str(tmp_path / "map.npy"), "--codec", "h264", "--gop", "2",
                      "--stats", str(stats))
    assert code == 0, text
    payload = json.loads(stats.read_text())
    assert [f["picture_type"] for f in payload["frames"]] == ["I", "P", "I"]
    assert payload["frames"][0]["qp_map"] == qp_map.tolist()
    code, text = _run(capsys, "info", str(out), "--json", str(tmp_path / "info.json"))
    assert code == 0
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["codec"] == "h264" and info["frames"] == 3 and info["picture_types"] == {"I": 2, "P": 1}


def test_detect_writes_json(tmp_path: Path, sample_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(capsys, "detect", str(sample_path), "--frames", "2",
                      "--json", str(tmp_path / "d.json"))
    assert code == 0 and "person" in text
    frames = json.loads((tmp_path / "d.json").read_text())["frames"]
    assert len(frames) == 2 and frames[0][0]["class_name"]


@pytest.mark.parametrize("detector", ["nanodet", "centernet"])
def test_detect_with_another_detector_draws_a_video(tmp_path: Path, sample_path: Path, detector: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    drawn, found = tmp_path / "boxes.mp4", tmp_path / "d.json"
    code, text = _run(capsys, "detect", str(sample_path), "--frames", "3", "--detector", detector,
                      "--draw", str(drawn), "--json", str(found))
    assert code == 0, text
    payload = json.loads(found.read_text())
    assert payload["detector"] == detector and len(payload["frames"]) == 3
    assert any(d["class_name"] == "person" for d in payload["frames"][0])
    code, text = _run(capsys, "info", str(drawn), "--json", str(tmp_path / "info.json"))
    info = json.loads((tmp_path / "info.json").read_text())
    assert code == 0 and info["frames"] == 3 and (info["width"], info["height"]) == (768, 576)


def test_detect_draws_pngs_with_the_boxes(tmp_path: Path, sample_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    from vcm.media import read_video

    folder = tmp_path / "drawn"
    code, text = _run(capsys, "detect", str(sample_path), "--frames", "2", "--draw", str(folder),
                      "--json", str(tmp_path / "d.json"))
    assert code == 0, text
    assert sorted(p.name for p in folder.iterdir()) == ["frame_000000.png", "frame_000001.png"]
    drawn = np.asarray(Image.open(folder / "frame_000000.png"))
    original = read_video(sample_path, max_frames=1).frames[0]
    best = json.loads((tmp_path / "d.json").read_text())["frames"][0][0]
    x1, y1, x2, y2 = (round(v) for v in best["box"])
    changed = np.any(drawn != original, axis=2)
    assert changed[y1:y2 + 1, x1:x2 + 1].any()  # the box outline is drawn where it was found
    assert changed.mean() < 0.2  # and the picture is otherwise the frame


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["encode", "{missing}", "-o", "{out}"], "no such file"),
        (["encode", "{junk}", "-o", "{out}"], "not a readable video"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--qp-map", "{bad_shape}"],
         "does not fit"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--qp-map", "{bad_range}"],
         "outside 0..51"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--qp-map", "{junk}"],
         "not a .npy QP map"),
        (["encode", "{sample}", "-o", "{out}", "--qp", "60"], "--qp must be"),
        (["encode", "{sample}", "-o", "{out}", "--classes", "person,unicorn"], "unicorn not COCO"),
        (["encode", "{sample}", "-o", "{nodir}", "--frames", "2"], "does not exist"),
        (["info", "{junk}"], "not a readable video"),
        (["eval", "{sample}", "--methods", "uniform,magic", "--out", "{tmp}"], "unknown method 'magic'"),
        (["eval", "{missing}", "--out", "{tmp}"], "no such file"),
        (["encode", "{sample}", "-o", "{out}", "--min-score", "1.5"], "--min-score"),
        (["detect", "{missing}"], "no such file"),
        (["detect", "{sample}", "--detector", "yolov9"], "unknown detector 'yolov9'"),
        (["detect", "{sample}", "--detector", "onnx:{missing}"], "not found"),
        (["detect", "{sample}", "--detector", "onnx:{junk}"], "not a valid ONNX"),
        (["detect", "{sample}", "--draw", "{nodir}"], "does not exist"),
        (["encode", "{sample}", "-o", "{out}", "--task", "smell"], "invalid choice: 'smell'"),
        (["privacy", "{sample}", "{sample}", "--face-detector", "retina"], "invalid choice: 'retina'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, sample_path: Path,
                                     capsys: pytest.CaptureFixture[str], argv: list[str],
                                     message: str) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video at all\n" * 20)
    np.save(tmp_path / "bad_shape.npy", np.full((10, 10), 30))
    np.save(tmp_path / "bad_range.npy", np.full((36, 48), 70))
    names = {"missing": tmp_path / "missing.avi", "junk": junk, "sample": sample_path,
             "out": tmp_path / "out.mp4", "nodir": tmp_path / "no" / "out.mp4",
             "bad_shape": tmp_path / "bad_shape.npy", "bad_range": tmp_path / "bad_range.npy",
             "tmp": tmp_path / "eval"}
    code, text = _run(capsys, *(arg.format(**names) for arg in argv))
    assert code == 1
    assert message in text
    assert len(text.strip().splitlines()) == 1 and text.strip().startswith("vcm: error:")
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob(".*part*"))


def test_encode_with_the_fast_method_records_targets(tmp_path: Path, sample_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out, stats = tmp_path / "fast.mp4", tmp_path / "fast.json"
    code, text = _run(capsys, "encode", str(sample_path), "-o", str(out), "--frames", "4",
                      "--method", "fast", "--stats", str(stats))
    assert code == 0, text
    assert "detection rate" in text
    payload = json.loads(stats.read_text())
    assert payload["method"] == "fast" and len(payload["frames"]) == 4
    first = payload["frames"][0]
    assert first["targets"] and len(first["survived"]) == len(first["targets"])
    assert len(first["qp_map"]) == 36 and len(first["qp_map"][0]) == 48
    assert payload["settings"]["config"]["detect_every"] == 2


def _h264(path: Path, frames: np.ndarray) -> bytes:
    """Raw Annex-B H.264 of `frames`, coded by the project's encoder."""
    from vcm.codec import encode

    encode(frames, 30, path, codec="h264", fps=10)
    return path.read_bytes()


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, frames: np.ndarray) -> dict[str, Path]:
    """Inputs that look plausible and are wrong, each in its own way."""
    import av

    folder = tmp_path_factory.mktemp("bad")
    names = {"raw": folder / "clip.yuv", "resized": folder / "resized.264", "crop": folder / "crop.mp4",
             "npz_junk": folder / "junk.npz", "npz": folder / "map.npz", "long_map": folder / "long.npy",
             "not_model": folder / "notes.pt", "file": folder / "a_file.txt"}
    names["raw"].write_bytes(bytes(64 * 48 * 3 // 2 * 2))
    names["large_raw"] = folder / "large.yuv"  # one 2560x1440 frame: above HEVC level 4.1 with 16x16 CTUs
    names["large_raw"].write_bytes(bytes(2560 * 1440 * 3 // 2))
    names["resized"].write_bytes(_h264(folder / "a.264", frames[:3, :64, :96])
                                 + _h264(folder / "b.264", frames[3:6, :96, :128]))
    with av.open(str(names["crop"]), "w") as container:
        container.metadata["comment"] = "vcm-crop=axb"
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in frames[:2, :48, :64]:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    names["npz_junk"].write_text("not numpy\n")
    np.savez(names["npz"], a=np.full((36, 48), 30))
    np.save(names["long_map"], np.full((5, 36, 48), 30))
    names["not_model"].write_text("weights? no\n")
    names["file"].write_text("a file\n")
    return names


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["encode", "{raw}", "-o", "{out}", "--fps", "10", "--size", "768"], "WIDTHxHEIGHT"),
        (["encode", "{raw}", "-o", "{out}", "--fps", "10", "--size", "axb"], "WIDTHxHEIGHT"),
        (["encode", "{raw}", "-o", "{out}", "--fps", "10", "--size", "0x10"], "--size sides"),
        (["encode", "{raw}", "-o", "{out}", "--size", "64x48", "--fps", "nan"], "--fps"),
        (["encode", "{raw}", "-o", "{out}", "--size", "64x48", "--fps", "inf"], "--fps"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--qp-map", "{npz_junk}"],
         "not a .npy QP map"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--qp-map", "{npz}"], ".npz archive"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "3", "--qp-map", "{long_map}"],
         "QP map has 5 frames but the video has only 3"),
        (["encode", "{sample}", "-o", "{tmp}/out", "--frames", "2"], "cannot tell the container"),
        (["encode", "{sample}", "-o", "{tmp}/out.xyz", "--frames", "2"], "cannot tell the container"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--stats", "{tmp}/no/s.json",
          "--method", "xai"], "does not exist"),
        (["encode", "{sample}", "-o", "{out}", "--frames", "2", "--stats", "{out}"], "same file"),
        (["encode", "{resized}", "-o", "{out}", "--method", "uniform"], "one size per stream"),
        (["info", "{crop}"], "malformed crop metadata"),
        (["eval", "{sample}", "--out", "{file}"], "is an existing file"),
        (["eval", "{sample}", "--out", "{file}/report"], "lies under the file"),
        (["eval", "{sample}", "--max-segments", "0", "--out", "{tmp}/ev"], "--max-segments"),
        (["eval", "{sample}", "--max-segments", "-2", "--out", "{tmp}/ev"], "--max-segments"),
        (["preedit", "train", "{sample}", "--out", "{model}", "--checkpoint-every", "0"], "checkpoint_every"),
        (["preedit", "train", "{sample}", "--out", "{model}", "--learning-rate", "-0.1"], "--learning-rate"),
        (["encode", "{sample}", "-o", "{out}", "--gop", "1000000000000"], "--gop: must be at most"),
        (["encode", "{sample}", "-o", "{out}", "--min-score", "nan"], "--min-score"),
        (["encode", "{large_raw}", "-o", "{out}", "--size", "2560x1440", "--fps", "10"], "16x16 QP blocks"),
        (["preedit", "train", "{sample}", "--out", "{not_model}"], "not a vcm pre-editor model"),
    ],
)
def test_every_bad_input_is_one_line_and_leaves_nothing(
        tmp_path: Path, sample_path: Path, bad_inputs: dict[str, Path],
        capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    names = {**bad_inputs, "sample": sample_path, "out": tmp_path / "out.mp4", "tmp": tmp_path,
             "model": tmp_path / "model.pt"}
    code, text = _run(capsys, *(arg.format(**names) for arg in argv))
    assert code == 1, text
    assert message in text
    assert len(text.strip().splitlines()) == 1 and text.strip().startswith("vcm: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no partial file


def test_a_failing_stats_file_takes_the_video_with_it(tmp_path: Path) -> None:
    from vcm.cli.encode import _finish_stats
    from vcm.errors import OutputError
    from vcm.streamjson import JsonListWriter

    video, stats_path = tmp_path / "out.mp4", tmp_path / "stats.json"
    video.write_bytes(b"a finished video")
    writer = JsonListWriter(stats_path, "frames")
    writer.add({"index": 0})
    stats_path.mkdir()  # the rename into place now fails
    with pytest.raises(OutputError, match="cannot write"):
        _finish_stats(writer, {"total_bytes": 1}, video)
    assert not video.exists() and [p.name for p in tmp_path.iterdir()] == ["stats.json"]


def test_every_command_and_action_describes_itself() -> None:
    undescribed = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if not sub.description:
                        undescribed.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")

    walk(build_parser(), "vcm")
    assert undescribed == []


def test_encode_plans_for_the_classes_of_interest_only(tmp_path: Path, sample_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    stats = tmp_path / "stats.json"
    code, text = _run(capsys, "encode", str(sample_path), "-o", str(tmp_path / "o.mp4"), "--frames", "2",
                      "--detector", "yolov3-tiny", "--classes", "car", "--stats", str(stats))
    assert code == 0, text
    payload = json.loads(stats.read_text())
    assert payload["settings"]["targets"]["classes"] == ["car"]
    assert {t["class_name"] for frame in payload["frames"] for t in frame["targets"]} <= {"car"}


def test_a_reader_that_goes_away_is_no_error(tmp_path: Path) -> None:
    import subprocess

    from tests.live_service import VCM

    child = subprocess.Popen([*VCM, "token", "create", "cam", "--data", str(tmp_path / "data")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # as `| head -0` would
    errors = child.stderr.read().decode()
    assert child.wait(120) == 141 and errors == "", errors
