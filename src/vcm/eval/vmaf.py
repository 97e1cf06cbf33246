"""Perceptual quality of an encode: VMAF and VMAF-NEG (0-100, mean over frames) from libvmaf.

Debian's FFmpeg has no libvmaf; the FFmpeg 9.0.2 binary inside the pinned imageio-ffmpeg
wheel has it (models vmaf_v0.6.1 and vmaf_v0.6.1neg built in). It is fetched and verified like
every other asset and used only to measure, never in the coding path. VMAF can be raised by
sharpening; VMAF-NEG discounts such gains, so the two are reported side by side.
"""

import json
import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from vcm.assets import PackageFiles
from vcm.errors import AssetError, InputError

VMAF_FFMPEG = PackageFiles(
    requirement="imageio-ffmpeg==0.8.1",
    archive_sha256="050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda",
    members={"ffmpeg": ("imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2",
                        "0d709a0bed1a43f24cd2c420878c63afea4580671b6949ad19ed124572f3bc3d")},
    folder="vmaf",
    pip_options=("--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"),
    fetch_command="vcm fetch vmaf",
)
MODELS = {"vmaf": "vmaf_v0.6.1", "vmaf_neg": "vmaf_v0.6.1neg"}  # result name -> libvmaf model version


@dataclass(frozen=True)
class VmafScores:
    """Mean VMAF and VMAF-NEG over the frames (0-100, higher is better)."""

    vmaf: float
    vmaf_neg: float


@cache
def vmaf_binary() -> Path:
    """The verified FFmpeg binary with libvmaf, fetched on first use and made executable (its
    172 MB checksummed once per process, not per encode)."""
    path = VMAF_FFMPEG.paths()["ffmpeg"]
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def vmaf_scores(reference: np.ndarray, distorted: np.ndarray, threads: int = 2) -> VmafScores:
    """VMAF and VMAF-NEG of `distorted` against `reference`, both (N, H, W, 3) uint8 RGB of the
    same shape, each converted to 4:2:0 YUV by FFmpeg's default (BT.601) conversion."""
    if reference.shape != distorted.shape or reference.ndim != 4 or reference.shape[-1] != 3:
        raise InputError(f"VMAF needs two (N, H, W, 3) videos of one shape, got {reference.shape} "
                         f"and {distorted.shape}")
    if len(reference) == 0:
        raise InputError("VMAF needs at least one frame")
    height, width = reference.shape[1:3]
    features = "|".join(f"version={version}\\:name={name}" for name, version in MODELS.items())
    with tempfile.TemporaryDirectory(prefix="vcm-vmaf-") as work:
        folder = Path(work)
        inputs = []
        for name, frames in (("distorted", distorted), ("reference", reference)):
            (folder / f"{name}.rgb").write_bytes(np.ascontiguousarray(frames, dtype=np.uint8).tobytes())
            inputs += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "25",
                       "-i", str(folder / f"{name}.rgb")]
        log = folder / "vmaf.json"
        graph = (f"[0:v]format=yuv420p[d];[1:v]format=yuv420p[r];[d][r]libvmaf=model='{features}':"
                 f"log_fmt=json:log_path={log}:n_threads={threads}")
        command = [str(vmaf_binary()), "-hide_banner", "-nostats", "-loglevel", "error", *inputs,
                   "-lavfi", graph, "-f", "null", "-"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not log.is_file():
            reason = (result.stderr.strip().splitlines() or ["no log written"])[-1]
            raise AssetError(f"libvmaf failed: {reason}")
        pooled = json.loads(log.read_text())["pooled_metrics"]
    return VmafScores(vmaf=float(pooled["vmaf"]["mean"]), vmaf_neg=float(pooled["vmaf_neg"]["mean"]))
