import shutil
from pathlib import Path

import pytest

from vcm.errors import AssetError
from vcm.media import fetch_sample


def test_corrupt_cached_sample_says_how_to_fix(tmp_path: Path, sample_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCM_HOME", str(tmp_path))
    target = tmp_path / "samples" / "vtest.avi"
    target.parent.mkdir(parents=True)
    shutil.copy(sample_path, target)
    with target.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00" * 16)
    with pytest.raises(AssetError, match=r"corrupt.*delete it"):
        fetch_sample()
