"""TensorFlow graph ops in PyTorch, with TensorFlow's semantics (NHWC images).

Each op takes the node's attributes and its input tensors and returns its output tensors.
Convolutions run on channels-last views of the NHWC tensors, so no data is copied to
change layout. Only the ops the shipped TF.js models use are here; anything else is an
UnsupportedOp naming the op.
"""

import base64
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

Attrs = dict[str, Any]
Op = Callable[[Attrs, list[torch.Tensor]], list[torch.Tensor]]


class UnsupportedOp(ValueError):
    """The graph uses an op (or an op setting) this converter does not implement."""


def ints(value: torch.Tensor) -> list[int]:
    """A constant int tensor as a flat Python list."""
    return [int(v) for v in value.reshape(-1).tolist()]


def attr_ints(attrs: Attrs, key: str) -> list[int]:
    return [int(v) for v in attrs.get(key, {}).get("list", {}).get("i", [])]


def attr_string(attrs: Attrs, key: str, default: str = "") -> str:
    raw = attrs.get(key, {}).get("s")
    return base64.b64decode(raw).decode() if raw else default


def attr_strings(attrs: Attrs, key: str) -> list[str]:
    return [base64.b64decode(s).decode() for s in attrs.get(key, {}).get("list", {}).get("s", [])]


def attr_bool(attrs: Attrs, key: str) -> bool:
    return bool(attrs.get(key, {}).get("b", False))


def attr_int(attrs: Attrs, key: str, default: int = 0) -> int:
    return int(attrs.get(key, {}).get("i", default))


def attr_float(attrs: Attrs, key: str, default: float = 0.0) -> float:
    return float(attrs.get(key, {}).get("f", default))


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) of one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x: torch.Tensor, attrs: Attrs, kernel: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int], value: float = 0.0) -> torch.Tensor:
    """Pad an NCHW view as the node's `padding` attribute says."""
    padding = attr_string(attrs, "padding", "VALID")
    if padding == "VALID":
        return x
    if padding == "SAME":
        top, bottom = _same_padding(x.shape[2], kernel[0], strides[0], dilations[0])
        left, right = _same_padding(x.shape[3], kernel[1], strides[1], dilations[1])
    elif padding == "EXPLICIT":
        explicit = attr_ints(attrs, "explicit_paddings")
        top, bottom, left, right = explicit[2:6]
    else:
        raise UnsupportedOp(f"padding {padding!r}")
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def _check_nhwc(attrs: Attrs) -> None:
    layout = attr_string(attrs, "data_format", "NHWC")
    if layout != "NHWC":
        raise UnsupportedOp(f"data_format {layout}")


def _activation(x: torch.Tensor, names: Sequence[str], extra: Sequence[torch.Tensor],
                attrs: Attrs) -> torch.Tensor:
    """Apply a fused op's tail (BiasAdd then an activation) to a channels-last tensor (NHWC,
    or (N, C) after a matmul); extra: the node's inputs after the filter or matrix (bias,
    then a PReLU's alphas)."""
    for name in names:
        if name == "BiasAdd":
            x = x + extra[0]
        elif name == "Relu":
            x = F.relu(x)
        elif name == "Relu6":
            x = F.relu6(x)
        elif name == "LeakyRelu":
            x = F.leaky_relu(x, attr_float(attrs, "leakyrelu_alpha", 0.2))
        elif name == "Prelu":
            x = torch.where(x >= 0, x, x * extra[1])
        elif name == "Elu":
            x = F.elu(x)
        else:
            raise UnsupportedOp(f"fused op {name}")
    return x


CONV_OPS = ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")
PREPARED = "_torch_weight"  # attribute set on a conv node whose filter is already torch_filter()'d


def torch_filter(kernel: torch.Tensor, depthwise: bool) -> torch.Tensor:
    """A TensorFlow filter, HWIO (kh, kw, C, out) or depthwise (kh, kw, C, multiplier), as
    torch's (out, C / groups, kh, kw) weight in channels-last memory."""
    kh, kw, channels, out = kernel.shape
    if depthwise:
        weight = kernel.permute(2, 3, 0, 1).reshape(channels * out, 1, kh, kw)
    else:
        weight = kernel.permute(3, 2, 0, 1)
    return weight.contiguous(memory_format=torch.channels_last)


def conv2d(attrs: Attrs, inputs: list[torch.Tensor], depthwise: bool = False) -> list[torch.Tensor]:
    """Conv2D / DepthwiseConv2dNative and their fused forms on x (N, H, W, C); the filter as
    TensorFlow stores it, or already torch_filter()'d when the node has PREPARED set. A fused
    BiasAdd goes into the convolution itself."""
    _check_nhwc(attrs)
    x = inputs[0]
    weight = inputs[1] if attrs.get(PREPARED) else torch_filter(inputs[1], depthwise)
    strides, dilations = attr_ints(attrs, "strides")[1:3], attr_ints(attrs, "dilations")[1:3] or [1, 1]
    fused = attr_strings(attrs, "fused_ops")
    bias = None
    if fused[:1] == ["BiasAdd"]:
        bias, fused = inputs[2], fused[1:]
    image = _pad_spatial(x.permute(0, 3, 1, 2), attrs, weight.shape[2:], strides, dilations)
    result = F.conv2d(image, weight, bias, stride=strides, dilation=dilations,
                      groups=x.shape[3] // weight.shape[1]).permute(0, 2, 3, 1)
    return [_activation(result, fused, inputs[2:], attrs)]


def fused_mat_mul(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """_FusedMatMul: a @ b (either transposed as transpose_a / transpose_b say), then the
    fused tail (BiasAdd with inputs[2], then an activation)."""
    a, b = inputs[0], inputs[1]
    if attr_bool(attrs, "transpose_a"):
        a = a.transpose(-2, -1)
    if attr_bool(attrs, "transpose_b"):
        b = b.transpose(-2, -1)
    return [_activation(a @ b, attr_strings(attrs, "fused_ops"), inputs[2:], attrs)]


def max_pool(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    _check_nhwc(attrs)
    kernel, strides = attr_ints(attrs, "ksize")[1:3], attr_ints(attrs, "strides")[1:3]
    image = _pad_spatial(inputs[0].permute(0, 3, 1, 2), attrs, kernel, strides, (1, 1), -math.inf)
    return [F.max_pool2d(image, kernel, strides).permute(0, 2, 3, 1)]


def _source_positions(out_size: int, in_size: int, align_corners: bool,
                      half_pixel: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TensorFlow's bilinear sampling along one axis: lower, upper indices and weight of upper."""
    scale = (in_size - 1) / (out_size - 1) if align_corners and out_size > 1 else in_size / out_size
    positions = torch.arange(out_size, dtype=torch.float64)
    source = (positions + 0.5) * scale - 0.5 if half_pixel else positions * scale
    floor = torch.floor(source)
    lower = floor.clamp(min=0).long()
    upper = torch.ceil(source).clamp(max=in_size - 1).long()
    return lower, upper, (source - floor).float()


def resize_bilinear(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """ResizeBilinear of (N, H, W, C) to size (h, w), TF semantics (legacy, half-pixel,
    align-corners)."""
    x, (height, width) = inputs[0], ints(inputs[1])
    align, half = attr_bool(attrs, "align_corners"), attr_bool(attrs, "half_pixel_centers")
    top, bottom, dy = _source_positions(height, x.shape[1], align, half)
    left, right, dx = _source_positions(width, x.shape[2], align, half)
    rows = torch.lerp(x[:, top], x[:, bottom], dy.view(1, -1, 1, 1))
    return [torch.lerp(rows[:, :, left], rows[:, :, right], dx.view(1, 1, -1, 1))]


def pad(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Pad / PadV2: paddings (rank, 2), last axis first for torch."""
    pairs = inputs[1].reshape(-1, 2).tolist()
    value = float(inputs[2]) if len(inputs) > 2 else 0.0
    flat = [int(v) for pair in reversed(pairs) for v in pair]
    return [F.pad(inputs[0], flat, value=value)]


def strided_slice(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    x = inputs[0]
    begin, end, strides = ints(inputs[1]), ints(inputs[2]), ints(inputs[3])
    if attr_int(attrs, "ellipsis_mask") or attr_int(attrs, "new_axis_mask"):
        raise UnsupportedOp("StridedSlice with ellipsis or new axis")
    begin_mask, end_mask = attr_int(attrs, "begin_mask"), attr_int(attrs, "end_mask")
    shrink = attr_int(attrs, "shrink_axis_mask")
    index: list[slice | int] = []
    for axis, (start, stop, step) in enumerate(zip(begin, end, strides, strict=True)):
        if shrink >> axis & 1:
            index.append(start)
            continue
        index.append(slice(None if begin_mask >> axis & 1 else start,
                           None if end_mask >> axis & 1 else stop, step))
    return [x[tuple(index)]]


def gather_nd(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    params, indices = inputs[0], inputs[1].long()
    depth = indices.shape[-1]
    flat = indices.reshape(-1, depth)
    picked = params[tuple(flat[:, axis] for axis in range(depth))]
    return [picked.reshape(*indices.shape[:-1], *params.shape[depth:])]


def gather_v2(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    params, indices, axis = inputs[0], inputs[1].long(), ints(inputs[2])[0]
    if attr_int(attrs, "batch_dims"):
        raise UnsupportedOp("GatherV2 with batch_dims")
    axis %= params.dim()
    picked = params.index_select(axis, indices.reshape(-1))
    return [picked.reshape(*params.shape[:axis], *indices.shape, *params.shape[axis + 1:])]


def top_k(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    values, indices = torch.topk(inputs[0], ints(inputs[1])[0], dim=-1, sorted=True)
    return [values, indices.int()]


def split_v(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    x, sizes, axis = inputs[0], ints(inputs[1]), ints(inputs[2])[0]
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return list(torch.split(x, sizes, dim=axis))


def split(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    axis, x = ints(inputs[0])[0], inputs[1]
    return list(torch.chunk(x, attr_int(attrs, "num_split"), dim=axis))


def _reduce(function: Callable[..., torch.Tensor]) -> Op:
    def reduce(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        axes = ints(inputs[1])
        return [function(inputs[0], dim=axes, keepdim=attr_bool(attrs, "keep_dims"))]
    return reduce


def _max(x: torch.Tensor, dim: list[int], keepdim: bool) -> torch.Tensor:
    return torch.amax(x, dim=dim, keepdim=keepdim)


def _binary(function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Op:
    return lambda attrs, inputs: [function(inputs[0], inputs[1])]


def _unary(function: Callable[[torch.Tensor], torch.Tensor]) -> Op:
    return lambda attrs, inputs: [function(inputs[0])]


_DTYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64,
           "DT_BOOL": torch.bool}


def cast(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    target = attrs.get("DstT", {}).get("type", "DT_FLOAT")
    if target not in _DTYPES:
        raise UnsupportedOp(f"Cast to {target}")
    return [inputs[0].to(_DTYPES[target])]


def _floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


def _argmax(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.argmax(inputs[0], dim=ints(inputs[1])[0]).int()]


def _reshape(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [inputs[0].reshape(ints(inputs[1]))]


def _transpose(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [inputs[0].permute(ints(inputs[1]))]


def _concat(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.cat(inputs[:-1], dim=ints(inputs[-1])[0])]


def _pack(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.stack(inputs, dim=attr_int(attrs, "axis"))]


def _unpack(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(torch.unbind(inputs[0], dim=attr_int(attrs, "axis")))


def _expand_dims(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [inputs[0].unsqueeze(ints(inputs[1])[0])]


def _squeeze(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    axes = attr_ints(attrs, "squeeze_dims")
    return [inputs[0].squeeze(tuple(axes)) if axes else inputs[0].squeeze()]


def _sparse_to_dense(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    indices, shape, values, default = inputs
    dense = torch.full(ints(shape), int(default), dtype=values.dtype)
    if indices.numel():
        dense[tuple(indices.long().reshape(-1, len(ints(shape))).T)] = values
    return [dense]


def _add_n(attrs: Attrs, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.stack(torch.broadcast_tensors(*inputs)).sum(dim=0)]


OPS: dict[str, Op] = {
    "Identity": lambda attrs, inputs: [inputs[0]],
    "Conv2D": conv2d,
    "_FusedConv2D": conv2d,
    "DepthwiseConv2dNative": lambda attrs, inputs: conv2d(attrs, inputs, depthwise=True),
    "FusedDepthwiseConv2dNative": lambda attrs, inputs: conv2d(attrs, inputs, depthwise=True),
    "_FusedMatMul": fused_mat_mul,
    "MaxPool": max_pool,
    "ResizeBilinear": resize_bilinear,
    "Pad": pad,
    "PadV2": pad,
    "Transpose": _transpose,
    "Reshape": _reshape,
    "ConcatV2": _concat,
    "SplitV": split_v,
    "Split": split,
    "Pack": _pack,
    "Unpack": _unpack,
    "ExpandDims": _expand_dims,
    "Squeeze": _squeeze,
    "StridedSlice": strided_slice,
    "GatherNd": gather_nd,
    "GatherV2": gather_v2,
    "TopKV2": top_k,
    "ArgMax": _argmax,
    "Cast": cast,
    "SparseToDense": _sparse_to_dense,
    "Mean": _reduce(torch.mean),
    "Sum": _reduce(torch.sum),
    "Max": _reduce(_max),
    "Add": _binary(torch.add),
    "AddV2": _binary(torch.add),
    "AddN": _add_n,
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "RealDiv": _binary(torch.div),
    "FloorDiv": _binary(_floor_div),
    "FloorMod": _binary(torch.remainder),
    "Maximum": _binary(torch.maximum),
    "Minimum": _binary(torch.minimum),
    "SquaredDifference": _binary(lambda a, b: (a - b) ** 2),
    "Equal": _binary(torch.eq),
    "Less": _binary(torch.lt),
    "Greater": _binary(torch.gt),
    "GreaterEqual": _binary(torch.ge),
    "LogicalAnd": _binary(torch.logical_and),
    "Sigmoid": _unary(torch.sigmoid),
    "Softmax": _unary(lambda x: torch.softmax(x, dim=-1)),
    "Relu": _unary(F.relu),
    "Relu6": _unary(F.relu6),
    "Sqrt": _unary(torch.sqrt),
    "Exp": _unary(torch.exp),
    "Abs": _unary(torch.abs),
    "Reciprocal": _unary(torch.reciprocal),
    "LeakyRelu": lambda attrs, inputs: [F.leaky_relu(inputs[0], attr_float(attrs, "alpha", 0.2))],
}
