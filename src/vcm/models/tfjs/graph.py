"""Read a TF.js graph model (model.json + weight shards) into a differentiable torch Module.

The weights (float32, int32, or quantised to float16 / uint8 / uint16 with scale and
minimum) become frozen buffers; forward() evaluates only the nodes the requested outputs
need, in dependency order, with the ops of `vcm.models.tfjs.ops`.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vcm.models.tfjs.ops import CONV_OPS, OPS, PREPARED, UnsupportedOp, torch_filter

_STORED = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8,
           "uint16": np.uint16, "bool": np.bool_}


@dataclass(frozen=True)
class Node:
    """One graph node: its op, attributes and inputs as (node name, output index)."""

    name: str
    op: str
    inputs: tuple[tuple[str, int], ...]
    attrs: Mapping[str, Any]


def _reference(text: str) -> tuple[str, int]:
    name, _, index = text.partition(":")
    return name, int(index) if index else 0


def read_weights(manifest: Sequence[Mapping[str, Any]], folder: Path) -> dict[str, torch.Tensor]:
    """Decode every weight of a TF.js weights manifest, whose shards lie in `folder`."""
    weights: dict[str, torch.Tensor] = {}
    for group in manifest:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            quantization = spec.get("quantization")
            stored = _STORED[quantization["dtype"] if quantization else spec["dtype"]]
            count = int(np.prod(spec["shape"], dtype=np.int64))
            size = count * np.dtype(stored).itemsize
            values = np.frombuffer(data, dtype=stored, count=count, offset=offset)
            offset += size
            if quantization and quantization["dtype"] != "float16":
                values = values.astype(np.float32) * quantization["scale"] + quantization["min"]
            target = np.int32 if spec["dtype"] == "int32" else np.float32
            if spec["dtype"] == "bool":
                target = np.bool_
            weights[spec["name"]] = torch.from_numpy(values.astype(target).reshape(spec["shape"]))
        if offset != len(data):
            raise ValueError(f"weight shards of {folder} hold {len(data)} bytes, the manifest {offset}")
    return weights


class GraphModel(nn.Module):
    """A TF.js graph model as a torch Module. Inputs and outputs keep TensorFlow's layout."""

    def __init__(self, model_json: Path) -> None:
        super().__init__()
        spec = json.loads(model_json.read_text())
        topology = spec["modelTopology"]
        self.nodes: dict[str, Node] = {}
        for raw in topology["node"]:
            inputs = tuple(_reference(i) for i in raw.get("input", []) if not i.startswith("^"))
            self.nodes[raw["name"]] = Node(raw["name"], raw["op"], inputs, raw.get("attr", {}))
        unsupported = sorted({n.op for n in self.nodes.values()} - set(OPS) - {"Const", "Placeholder"})
        if unsupported:
            raise UnsupportedOp(f"{model_json.name} uses ops not implemented: {', '.join(unsupported)}")
        weights = read_weights(spec["weightsManifest"], model_json.parent)
        self._prepare_filters(weights)
        self.constant_names = [n.name for n in self.nodes.values() if n.op == "Const"]
        for index, name in enumerate(self.constant_names):
            self.register_buffer(f"const_{index}", weights[name], persistent=False)
        self._constant_index = {name: index for index, name in enumerate(self.constant_names)}
        self.input_names = [n.name for n in self.nodes.values() if n.op == "Placeholder"]

    def _prepare_filters(self, weights: dict[str, torch.Tensor]) -> None:
        """Give every convolution its filter in torch's layout once, as a constant of its own."""
        for node in list(self.nodes.values()):
            if node.op not in CONV_OPS or self.nodes[node.inputs[1][0]].op != "Const":
                continue
            name = f"{node.name}/{PREPARED}"
            depthwise = "Depthwise" in node.op
            weights[name] = torch_filter(weights[node.inputs[1][0]], depthwise)
            self.nodes[name] = Node(name, "Const", (), {})
            inputs = (node.inputs[0], (name, 0), *node.inputs[2:])
            self.nodes[node.name] = Node(node.name, node.op, inputs, {**node.attrs, PREPARED: True})
        used = {source for n in self.nodes.values() for source, _ in n.inputs}
        for name in [n.name for n in self.nodes.values() if n.op == "Const" and n.name not in used]:
            del self.nodes[name], weights[name]

    def constant(self, name: str) -> torch.Tensor:
        return getattr(self, f"const_{self._constant_index[name]}")

    def forward(self, inputs: Mapping[str, torch.Tensor] | torch.Tensor,
                outputs: Sequence[str]) -> list[torch.Tensor]:
        """Evaluate `outputs` (node names, "name:i" for a node's i-th output) given the
        placeholder values (a tensor when the graph has one input)."""
        if isinstance(inputs, torch.Tensor):
            inputs = {self.input_names[0]: inputs}
        values: dict[str, list[torch.Tensor]] = {name: [value] for name, value in inputs.items()}
        for name in self._order([_reference(o)[0] for o in outputs]):
            node = self.nodes[name]
            if node.op == "Const":
                values[name] = [self.constant(name)]
            elif node.op == "Placeholder":
                if name not in values:
                    raise ValueError(f"the graph needs input {name!r}")
            else:
                arguments = [values[source][index] for source, index in node.inputs]
                values[name] = OPS[node.op](dict(node.attrs), arguments)
        return [values[name][index] for name, index in map(_reference, outputs)]

    def _order(self, targets: Sequence[str]) -> list[str]:
        """Nodes needed for `targets`, each after its inputs."""
        order: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[str, bool]] = [(t, False) for t in reversed(targets)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                order.append(name)
                continue
            if name in seen:
                continue
            seen.add(name)
            stack.append((name, True))
            stack.extend((source, False) for source, _ in reversed(self.nodes[name].inputs)
                         if source not in seen)
        return order
