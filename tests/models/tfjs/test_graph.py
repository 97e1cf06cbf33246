import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vcm.models.tfjs.graph import GraphModel, read_weights
from vcm.models.tfjs.ops import UnsupportedOp


def _write_model(folder: Path, nodes: list[dict], weights: list[dict], data: bytes) -> Path:
    (folder / "tiny.bin").write_bytes(data)
    spec = {"format": "graph-model", "modelTopology": {"node": nodes},
            "weightsManifest": [{"paths": ["tiny.bin"], "weights": weights}]}
    path = folder / "tiny.json"
    path.write_text(json.dumps(spec))
    return path


def test_quantised_weights_are_decoded(tmp_path: Path) -> None:
    quantised = np.array([0, 10, 255], dtype=np.uint8)
    halves = np.array([1.5, -2.25], dtype=np.float16)
    ints = np.array([7, -3], dtype=np.int32)
    weights = [
        {"name": "q", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
        {"name": "i", "shape": [2], "dtype": "int32"},
    ]
    data = quantised.tobytes() + halves.tobytes() + ints.tobytes()
    _write_model(tmp_path, [], weights, data)
    decoded = read_weights(json.loads((tmp_path / "tiny.json").read_text())["weightsManifest"], tmp_path)
    assert decoded["q"].tolist() == [-1.0, 4.0, 126.5]  # q * 0.5 - 1
    assert decoded["h"].tolist() == [1.5, -2.25]
    assert decoded["i"].dtype == torch.int32 and decoded["i"].tolist() == [7, -3]


def test_shards_shorter_than_the_manifest_are_refused(tmp_path: Path) -> None:
    weights = [{"name": "w", "shape": [4], "dtype": "float32"}]
    _write_model(tmp_path, [], weights, np.zeros(3, dtype=np.float32).tobytes())
    manifest = json.loads((tmp_path / "tiny.json").read_text())["weightsManifest"]
    with pytest.raises(ValueError):
        read_weights(manifest, tmp_path)


def test_a_small_graph_runs_only_what_the_outputs_need(tmp_path: Path) -> None:
    nodes = [
        {"name": "x", "op": "Placeholder"},
        {"name": "two", "op": "Const"},
        {"name": "double", "op": "Mul", "input": ["x", "two"]},
        {"name": "squash", "op": "Sigmoid", "input": ["double"]},
        {"name": "unused", "op": "Sqrt", "input": ["x", "^squash"]},
    ]
    weights = [{"name": "two", "shape": [], "dtype": "float32"}]
    graph = GraphModel(_write_model(tmp_path, nodes, weights, np.float32(2.0).tobytes()))
    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    double, squash = graph(x, ["double", "squash"])
    assert double.tolist() == [-2.0, 0.0, 2.0]
    assert torch.allclose(squash, 1 / (1 + torch.exp(-2 * x)))
    squash.sum().backward()
    assert x.grad is not None and torch.all(x.grad > 0)


def test_unsupported_ops_are_named(tmp_path: Path) -> None:
    nodes = [{"name": "x", "op": "Placeholder"}, {"name": "y", "op": "Erfinv", "input": ["x"]}]
    with pytest.raises(UnsupportedOp, match="Erfinv"):
        GraphModel(_write_model(tmp_path, nodes, [], b""))
