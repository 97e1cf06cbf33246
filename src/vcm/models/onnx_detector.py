"""A user's own ONNX detector (`--detector onnx:MODEL.onnx`), converted to PyTorch by
onnx2torch so the pre-editor's gradients flow through it like through the built-in ones.

Frames are resized (bilinear, no letterbox) to the network input and fed as RGB in [0, 1],
NCHW. The network's first output is decoded in one of these head formats:

- `yolov8`: (B, 4 + C, P): per candidate cx, cy, w, h in network-input pixels, then C class
  scores (already sigmoid); score = class score.
- `yolov5`: (B, P, 5 + C): cx, cy, w, h in network-input pixels, objectness, C class scores;
  score = objectness * class score.

`head="auto"` picks by which axis holds the attributes, the shorter of the last two (there
are far more candidates than attributes): the middle one means yolov8, the last one yolov5.
"""

import importlib.util
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import onnx
import torch
import torch.nn.functional as F
from google.protobuf.message import DecodeError

from vcm.errors import InputError
from vcm.models.detector import BoxDetector
from vcm.models.weights import coco_names

HEADS = ("auto", "yolov8", "yolov5")
DEFAULT_INPUT_SIZE = (640, 640)  # (width, height) when the ONNX input's spatial size is dynamic
_TORCHVISION_OPS = ("nms", "box_convert", "roi_align")


class OnnxDetector(BoxDetector):
    """An ONNX detector with a YOLOv8- or YOLOv5-style output, run as a frozen torch module."""

    def __init__(self, path: Path, *, head: str = "auto", input_size: tuple[int, int] | None = None,
                 class_names: Sequence[str] | None = None, score_threshold: float = 0.25,
                 nms_iou: float = 0.45) -> None:
        """path: the .onnx file; input_size: (width, height) in pixels, used only when the
        file's input size is dynamic (default DEFAULT_INPUT_SIZE); class_names: one per
        class score (default the COCO names for 80 classes, else class0, class1, ...)."""
        super().__init__(score_threshold=score_threshold, nms_iou=nms_iou)
        if head not in HEADS:
            raise InputError(f"unknown ONNX head format {head!r}; choose one of {', '.join(HEADS)}")
        self.name = f"onnx:{path.name}"
        model = _load(path)
        self.input_size, self._fixed_batch = _input_shape(model, path.name, input_size)
        self.net = _convert(model, path.name)
        self.net.eval()
        # NHWC, as YoloV3Tiny: oneDNN's CPU convolutions run faster on it
        self.net.to(memory_format=torch.channels_last)
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        width, height = self.input_size
        with torch.inference_mode():
            try:
                probe = self._raw(torch.zeros(1, 3, height, width))
            except (RuntimeError, ValueError, IndexError) as error:
                raise InputError(f"{path.name} fails on a (1, 3, {height}, {width}) input: "
                                 f"{_first_line(error)}") from error
        self.head = _head_format(tuple(probe.shape), head, path.name)
        classes = probe.shape[1] - 4 if self.head == "yolov8" else probe.shape[2] - 5
        if class_names is None:
            class_names = coco_names() if classes == 80 else [f"class{i}" for i in range(classes)]
        if len(class_names) != classes:
            raise InputError(f"{path.name} has {classes} class scores but {len(class_names)} class "
                             "names were given")
        self.class_names = list(class_names)

    def _raw(self, network_input: torch.Tensor) -> torch.Tensor:
        """(B, 3, net H, net W) RGB in [0, 1] -> the first output, run one frame at a time
        when the file fixes the batch to 1."""
        if self._fixed_batch and len(network_input) > 1:
            return torch.cat([self._raw(image[None]) for image in network_input])
        outputs = self.net(network_input)
        return outputs[0] if isinstance(outputs, (tuple, list)) else outputs

    def predictions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) float RGB in [0, 1] -> boxes (B, P, 4) as x1, y1, x2, y2 in input
        pixels and class scores (B, P, C) in [0, 1]."""
        height, width = images.shape[-2:]
        net_w, net_h = self.input_size
        resized = F.interpolate(images, size=(net_h, net_w), mode="bilinear", align_corners=False)
        raw = self._raw(resized.contiguous(memory_format=torch.channels_last))
        if self.head == "yolov8":
            raw = raw.transpose(1, 2)
            scores = raw[..., 4:]
        else:
            scores = raw[..., 4:5] * raw[..., 5:]
        scale = torch.tensor([width / net_w, height / net_h], dtype=raw.dtype)
        centre, size = raw[..., 0:2] * scale, raw[..., 2:4] * scale
        return torch.cat([centre - size / 2, centre + size / 2], dim=-1), scores


def _load(path: Path) -> onnx.ModelProto:
    """The checked ONNX model in `path`, else InputError."""
    if not path.is_file():
        raise InputError(f"ONNX model {path} not found")
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except (DecodeError, onnx.checker.ValidationError) as error:
        raise InputError(f"{path.name} is not a valid ONNX model: {_first_line(error)}") from error
    return model


def _input_shape(model: onnx.ModelProto, file_name: str,
                 input_size: tuple[int, int] | None) -> tuple[tuple[int, int], bool]:
    """The network input (width, height) in pixels and whether the file fixes the batch to 1."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializers]
    if len(inputs) != 1:
        raise InputError(f"{file_name} has {len(inputs)} inputs; a detector takes one image tensor")
    tensor_type = inputs[0].type.tensor_type
    if tensor_type.elem_type != onnx.TensorProto.FLOAT:
        element = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
        raise InputError(f"{file_name}'s input is {element}, not FLOAT")
    dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] not in (3, None) or dims[0] not in (1, None):
        raise InputError(f"{file_name}'s input shape {dims} is not (batch, 3, height, width)")
    height, width = dims[2:]
    if height is None or width is None:
        return input_size or DEFAULT_INPUT_SIZE, dims[0] == 1
    return (width, height), dims[0] == 1


def _convert(model: onnx.ModelProto, file_name: str) -> torch.nn.Module:
    """The onnx2torch conversion of `model`, else InputError naming what could not be converted."""
    onnx2torch = _import_onnx2torch()
    try:
        return onnx2torch.convert(model)
    except (NotImplementedError, ValueError, KeyError, RuntimeError) as error:
        raise InputError(f"{file_name} cannot be converted to PyTorch: {type(error).__name__}: "
                         f"{_first_line(error)}") from error


def _import_onnx2torch() -> types.ModuleType:
    """onnx2torch, imported without torchvision, which vcm does not depend on.

    onnx2torch imports torchvision only for its NonMaxSuppression and RoiAlign converters, so
    when torchvision is absent a stand-in serves that import; a graph that uses those ops then
    fails when run with InputError.
    """
    if importlib.util.find_spec("onnx2torch") is None:
        raise InputError("ONNX detectors need onnx2torch: pip install --no-deps onnx2torch==1.5.15")
    if "onnx2torch" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        import onnx2torch

        return onnx2torch
    stand_in, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    for function in _TORCHVISION_OPS:
        setattr(ops, function, _needs_torchvision)
    stand_in.ops = ops  # type: ignore[attr-defined]
    sys.modules.update({"torchvision": stand_in, "torchvision.ops": ops})
    try:
        import onnx2torch
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]
    return onnx2torch


def _needs_torchvision(*_args: object, **_kwargs: object) -> NoReturn:
    raise InputError("the ONNX ops NonMaxSuppression and RoiAlign need torchvision, which vcm does "
                     "not install; export the detector without them")


def _head_format(shape: tuple[int, ...], head: str, file_name: str) -> str:
    """The head format of a first output of `shape`, checked against `head`, else InputError."""
    fits = {"yolov8": len(shape) == 3 and shape[1] >= 5,
            "yolov5": len(shape) == 3 and shape[2] >= 6}
    if head == "auto" and len(shape) == 3:
        head = "yolov8" if shape[1] < shape[2] else "yolov5"
    if head == "auto" or not fits[head]:
        raise InputError(f"{file_name}'s output shape {list(shape)} fits no head format "
                         "(yolov8: (B, 4 + C, P), yolov5: (B, P, 5 + C))")
    return head


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
