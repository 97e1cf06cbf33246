"""Run a TF.js graph model in Node with TensorFlow.js's pure-JavaScript CPU backend: the
reference the PyTorch conversion is checked against (parity tests and bench).

The npm packages are installed on first use into the cache (`$VCM_HOME/node/tfjs-4.22.0`);
this needs Node and npm, nothing in Python.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcm.cache import cache_dir
from vcm.errors import AssetError
from vcm.models.tfjs.package import model_json

TFJS_VERSION = "4.22.0"
TFJS_PACKAGES = tuple(f"@tensorflow/{name}@{TFJS_VERSION}"
                      for name in ("tfjs-core", "tfjs-converter", "tfjs-backend-cpu"))
HERE = Path(__file__).parent


@dataclass(frozen=True)
class ReferenceRun:
    """What the reference produced: raw graph outputs by name, and the decoded results of
    the model's module (detections, keypoints, faces) as plain JSON values."""

    raw: dict[str, np.ndarray]
    results: Any


def tfjs_prefix() -> Path:
    """The npm prefix holding TensorFlow.js, installed there on first use."""
    prefix = cache_dir() / "node" / f"tfjs-{TFJS_VERSION}"
    if (prefix / "node_modules" / "@tensorflow" / "tfjs-backend-cpu" / "package.json").is_file():
        return prefix
    if shutil.which("npm") is None:
        raise AssetError("npm is not installed; the TensorFlow.js reference needs Node and npm")
    partial = prefix.with_name(prefix.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(partial),
               *TFJS_PACKAGES]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["npm failed"])[-1]
        raise AssetError(f"npm install of TensorFlow.js {TFJS_VERSION} failed: {reason}")
    shutil.rmtree(prefix, ignore_errors=True)
    os.replace(partial, prefix)
    return prefix


def run_reference(model: str, frame: np.ndarray, timeout_s: float = 600.0) -> ReferenceRun:
    """Run `model` (a module name beside this file: nanodet, centernet, movenet-lightning,
    blazeface) on one (H, W, 3) uint8 RGB frame in Node."""
    if shutil.which("node") is None:
        raise AssetError("node is not installed; the TensorFlow.js reference needs it")
    prefix = tfjs_prefix()
    graph = model_json(model.split("@")[0])
    height, width = frame.shape[:2]
    with tempfile.TemporaryDirectory(prefix="vcm-tfjs-") as work:
        frame_path, out_path = Path(work) / "frame.raw", Path(work) / "out.json"
        frame_path.write_bytes(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        command = ["node", str(HERE / "run.mjs"), model, str(graph), str(frame_path), str(width),
                   str(height), str(out_path)]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout_s,
                                env={**os.environ, "TFJS_PREFIX": str(prefix)})
        if result.returncode != 0:
            raise RuntimeError(f"TensorFlow.js reference failed: {result.stderr.strip()[-2000:]}")
        out = json.loads(out_path.read_text())
    raw = {name: np.frombuffer(base64.b64decode(item["data"]), dtype=np.float32).reshape(item["shape"])
           for name, item in out["raw"].items()}
    return ReferenceRun(raw, out["results"])
