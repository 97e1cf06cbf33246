import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vcm.models.tfjs.ops import OPS, UnsupportedOp

SAME = {"padding": {"s": "U0FNRQ=="}}  # base64 "SAME"
VALID = {"padding": {"s": "VkFMSUQ="}}


def _conv_by_loops(x: np.ndarray, kernel: np.ndarray, stride: int, pad: tuple[int, int, int, int],
                   depthwise: bool) -> np.ndarray:
    """Direct NHWC convolution; pad = (top, bottom, left, right)."""
    top, bottom, left, right = pad
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, channels, out = kernel.shape
    rows = (x.shape[1] - kh) // stride + 1
    cols = (x.shape[2] - kw) // stride + 1
    result = np.zeros((1, rows, cols, channels * out if depthwise else out))
    for r in range(rows):
        for c in range(cols):
            patch = x[0, r * stride : r * stride + kh, c * stride : c * stride + kw, :]
            if depthwise:
                for channel in range(channels):
                    for m in range(out):
                        value = (patch[..., channel] * kernel[..., channel, m]).sum()
                        result[0, r, c, channel * out + m] = value
            else:
                result[0, r, c] = np.einsum("hwc,hwco->o", patch, kernel)
    return result


@pytest.mark.parametrize("depthwise", [False, True])
def test_same_padding_is_tensorflows_asymmetric_padding(depthwise: bool) -> None:
    generator = np.random.default_rng(0)
    x = generator.normal(size=(1, 6, 6, 2)).astype(np.float32)
    kernel = generator.normal(size=(3, 3, 2, 2)).astype(np.float32)
    attrs = {**SAME, "strides": {"list": {"i": ["1", "2", "2", "1"]}}}
    op = OPS["DepthwiseConv2dNative" if depthwise else "Conv2D"]
    ours = op(attrs, [torch.from_numpy(x), torch.from_numpy(kernel)])[0].numpy()
    # 6 wide, stride 2, kernel 3: 3 outputs need 7 pixels -> TensorFlow pads 0 before, 1 after
    expected = _conv_by_loops(x, kernel, 2, (0, 1, 0, 1), depthwise)
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def test_fused_conv_adds_bias_then_relu6() -> None:
    x = torch.ones(1, 3, 3, 1)
    kernel = torch.ones(1, 1, 1, 1) * 5.0
    fused = {**VALID, "strides": {"list": {"i": ["1", "1", "1", "1"]}},
             "fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdTY="]}}}  # BiasAdd, Relu6
    out = OPS["_FusedConv2D"](fused, [x, kernel, torch.tensor([-1.5])])[0]
    assert torch.all(out == 3.5)
    out = OPS["_FusedConv2D"](fused, [x, kernel, torch.tensor([4.0])])[0]
    assert torch.all(out == 6.0)


def test_resize_bilinear_half_pixel_matches_torch_and_legacy_samples_left_corners() -> None:
    x = torch.arange(24, dtype=torch.float32).reshape(1, 2, 4, 3)
    size = torch.tensor([4, 8])
    half = {"align_corners": {"b": False}, "half_pixel_centers": {"b": True}}
    ours = OPS["ResizeBilinear"](half, [x, size])[0]
    expected = F.interpolate(x.permute(0, 3, 1, 2), size=(4, 8), mode="bilinear",
                             align_corners=False).permute(0, 2, 3, 1)
    assert torch.allclose(ours, expected, atol=1e-5)
    row = torch.tensor([0.0, 1.0, 2.0, 3.0]).reshape(1, 1, 4, 1)
    legacy = {"align_corners": {"b": False}, "half_pixel_centers": {"b": False}}
    down = OPS["ResizeBilinear"](legacy, [row, torch.tensor([1, 2])])[0]
    assert down.flatten().tolist() == [0.0, 2.0]  # source x = 2 * output x
    up = OPS["ResizeBilinear"](legacy, [row, torch.tensor([1, 8])])[0]
    assert up.flatten().tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]  # clamped at the edge


def test_strided_slice_masks_match_numpy() -> None:
    x = torch.arange(60).reshape(3, 4, 5)
    attrs = {"begin_mask": {"i": "1"}, "end_mask": {"i": "4"}, "shrink_axis_mask": {"i": "2"}}
    out = OPS["StridedSlice"](attrs, [x, torch.tensor([1, 2, 1]), torch.tensor([2, 3, 0]),
                                      torch.tensor([1, 1, 2])])[0]
    assert np.array_equal(out.numpy(), x.numpy()[:2, 2, 1::2])


def test_gather_nd_and_split_v() -> None:
    params = torch.arange(24).reshape(2, 3, 4)
    picked = OPS["GatherNd"]({}, [params, torch.tensor([[1, 2], [0, 0]])])[0]
    assert picked.tolist() == [params[1, 2].tolist(), params[0, 0].tolist()]
    parts = OPS["SplitV"]({}, [params, torch.tensor([1, -1]), torch.tensor(2)])
    assert [tuple(p.shape) for p in parts] == [(2, 3, 1), (2, 3, 3)]


def test_unknown_padding_is_refused() -> None:
    attrs = {"padding": {"s": "Rk9P"}, "strides": {"list": {"i": ["1", "1", "1", "1"]}}}  # "FOO"
    with pytest.raises(UnsupportedOp, match="FOO"):
        OPS["Conv2D"](attrs, [torch.ones(1, 3, 3, 1), torch.ones(3, 3, 1, 1)])


def test_fused_mat_mul_transposes_adds_bias_then_relu() -> None:
    a = torch.tensor([[1.0, 2.0], [3.0, -4.0]])
    b = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    bias = torch.tensor([0.5, -1.0, 0.0])
    fused = {"fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdQ=="]}}}  # BiasAdd, Relu
    out = OPS["_FusedMatMul"](fused, [a, b, bias])[0]
    assert out.tolist() == [[1.5, 1.0, 0.0], [3.5, 0.0, 10.0]]  # a @ b + bias = [[1.5, 1, 0], [3.5, -5, 10]]
    transposed = {"fused_ops": {"list": {"s": ["Qmlhc0FkZA=="]}},  # BiasAdd only
                  "transpose_a": {"b": True}, "transpose_b": {"b": True}}
    out = OPS["_FusedMatMul"](transposed, [a.T, b.T, bias])[0]
    assert out.tolist() == [[1.5, 1.0, 0.0], [3.5, -5.0, 10.0]]


def test_softmax_normalises_the_last_axis() -> None:
    logits = torch.tensor([[0.0, 0.0], [0.0, math.log(3.0)]])
    out = OPS["Softmax"]({}, [logits])[0]
    assert torch.allclose(out, torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
