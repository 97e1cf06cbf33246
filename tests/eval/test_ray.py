"""`vcm eval --ray local` spreads videos over Ray tasks and gives the same results as in process."""

import csv
import subprocess
from pathlib import Path

import pytest

from tests.live_service import VCM

pytestmark = pytest.mark.system  # starts real servers


def test_eval_on_ray_matches_in_process(sample_path: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sample_path), "-ss", "20", "-frames:v", "8",
                    "-c:v", "ffv1", str(short)], check=True)
    results = {}
    for mode in ("process", "ray"):
        out = tmp_path / mode
        command = [*VCM, "eval", str(sample_path), str(short), "--methods", "uniform", "--segment", "8",
                   "--max-segments", "1", "--out", str(out), *(["--ray", "local"] if mode == "ray" else [])]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        with (out / "results.csv").open() as handle:
            results[mode] = sorted((row["video"], row["method"], row["bytes"], row["detection_rate"])
                                   for row in csv.DictReader(handle))
    assert len(results["ray"]) == 2 and {row[0] for row in results["ray"]} == {"vtest.avi", "short.mkv"}
    assert results["ray"] == results["process"]
