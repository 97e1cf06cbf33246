"""OnnxDetector on ONNX files exported here from YOLOv3-tiny, checked against YoloV3Tiny itself."""

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from vcm.errors import InputError
from vcm.models import YoloV3Tiny, load_detector
from vcm.models.detector import box_iou
from vcm.models.onnx_detector import OnnxDetector

from .checks import assert_gradient_is_local

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::UserWarning", "ignore::torch.jit.TracerWarning")

HEADS = ("yolov8", "yolov5")


class ExportedHead(torch.nn.Module):
    """YOLOv3-tiny on a (1, 3, 416, 416) input with its candidates laid out as a YOLOv8 head
    (1, 4 + 80, P) or a YOLOv5 head (1, P, 5 + 80); boxes as cx, cy, w, h in input pixels."""

    def __init__(self, detector: YoloV3Tiny, head: str) -> None:
        super().__init__()
        self.detector, self.head = detector, head
        self.net = detector.net  # registered, so its weights are exported as initializers

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        boxes, scores = self.detector.predictions(images)
        centre = (boxes[..., :2] + boxes[..., 2:]) / 2
        centre_size = torch.cat([centre, boxes[..., 2:] - boxes[..., :2]], dim=-1)
        if self.head == "yolov8":
            return torch.cat([centre_size, scores], dim=-1).transpose(1, 2)
        # objectness * class score gives back YOLOv3-tiny's score (no clamp: onnx2torch 1.5.15
        # cannot convert a Clip without max)
        objectness = scores.max(dim=-1, keepdim=True).values + 1e-12
        return torch.cat([centre_size, objectness, scores / objectness], dim=-1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, detector: YoloV3Tiny) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("onnx")
    paths = {head: folder / f"yolo-{head}.onnx" for head in HEADS}
    for head, path in paths.items():
        # eval() first: the exporter would otherwise leave the shared detector in training mode
        module = ExportedHead(detector, head).eval()
        torch.onnx.export(module, (torch.rand(1, 3, 416, 416),), str(path), input_names=["images"],
                          dynamo=False, opset_version=17)
    assert not detector.net.training
    return paths


@pytest.fixture(scope="module")
def onnx_detectors(exported: dict[str, Path]) -> dict[str, OnnxDetector]:
    return {head: load_detector(f"onnx:{path}") for head, path in exported.items()}


@pytest.mark.parametrize("head", HEADS)
def test_loads_the_exported_head(onnx_detectors: dict[str, OnnxDetector], detector: YoloV3Tiny,
                                 head: str) -> None:
    found = onnx_detectors[head]
    assert found.head == head  # told apart by the output shape alone
    assert found.name == f"onnx:yolo-{head}.onnx"
    assert found.input_size == (416, 416)
    assert list(found.class_names) == list(detector.class_names)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("index", [0, 5, 11])
def test_detections_match_yolo(frames: np.ndarray, detector: YoloV3Tiny,
                               onnx_detectors: dict[str, OnnxDetector], head: str,
                               index: int) -> None:
    frame = frames[index][None]
    reference = detector.detect(frame)[0]
    ours = onnx_detectors[head].detect(frame)[0]
    assert len(reference) >= 3
    assert len(ours) == len(reference)
    for expected in reference:
        match = max(ours, key=lambda d: box_iou(d.box, expected.box)
                    if d.class_id == expected.class_id else -1)
        assert match.class_id == expected.class_id
        assert box_iou(match.box, expected.box) >= 0.95
        assert abs(match.score - expected.score) <= 0.01


def test_batch_predictions_match_yolo(frames: np.ndarray, detector: YoloV3Tiny,
                                      onnx_detectors: dict[str, OnnxDetector]) -> None:
    images = torch.from_numpy(frames[[0, 11]]).permute(0, 3, 1, 2).float().div(255)
    with torch.inference_mode():
        boxes, scores = detector.predictions(images)
        ours_boxes, ours_scores = onnx_detectors["yolov8"].predictions(images)
    assert ours_boxes.shape == boxes.shape and ours_scores.shape == scores.shape
    confident = scores.max(dim=-1).values >= 0.25
    assert confident.sum() >= 6
    assert torch.allclose(ours_boxes[confident], boxes[confident], atol=0.5)
    assert torch.allclose(ours_scores, scores, atol=1e-3)


def test_target_score_gradient_is_local(frames: np.ndarray, detector: YoloV3Tiny,
                                        onnx_detectors: dict[str, OnnxDetector]) -> None:
    target = max(detector.detect(frames[:1])[0], key=lambda d: d.score)
    assert_gradient_is_local(onnx_detectors["yolov8"], frames[0], target, score_tolerance=0.01)


def _save_model(path: Path, nodes: list[onnx.NodeProto], output: onnx.ValueInfoProto,
                initializers: Sequence[onnx.TensorProto] = (), custom_domain: str = "") -> Path:
    """Save a graph of `nodes` from a (1, 3, 32, 32) float input "images" to `output`, opset 17."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])
    graph = helper.make_graph(nodes, "g", [image], [output], initializer=list(initializers))
    opsets = [helper.make_opsetid("", 17)]
    if custom_domain:
        opsets.append(helper.make_opsetid(custom_domain, 1))
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    return path


def _assert_one_line_input_error(path: Path, *words: str) -> None:
    with pytest.raises(InputError) as caught:
        OnnxDetector(path)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_text_file_is_not_an_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "x.onnx"
    path.write_text("not a model\n")
    _assert_one_line_input_error(path, "x.onnx", "not a valid ONNX model")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    _assert_one_line_input_error(empty, "empty.onnx", "not a valid ONNX model")


def test_missing_file(tmp_path: Path) -> None:
    _assert_one_line_input_error(tmp_path / "missing.onnx", "missing.onnx", "not found")
    with pytest.raises(InputError, match="not found"):
        load_detector(f"onnx:{tmp_path / 'missing.onnx'}")


def test_op_without_converter(tmp_path: Path) -> None:
    node = helper.make_node("Mystery", ["images"], ["out"], domain="com.example")
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 32, 32])
    path = _save_model(tmp_path / "custom.onnx", [node], output, custom_domain="com.example")
    _assert_one_line_input_error(path, "custom.onnx", "cannot be converted", "Mystery")


def test_output_that_fits_no_head(tmp_path: Path) -> None:
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 32, 32])
    relu = helper.make_node("Relu", ["images"], ["out"])
    path = _save_model(tmp_path / "relu.onnx", [relu], output)
    _assert_one_line_input_error(path, "relu.onnx", "fits no head format", "[1, 3, 32, 32]")
    with pytest.raises(InputError, match="fits no head format"):
        OnnxDetector(path, head="yolov5")


def test_nms_op_needs_torchvision(tmp_path: Path) -> None:
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here")
    nodes = [helper.make_node("Reshape", ["images", "boxes_shape"], ["boxes"]),
             helper.make_node("Reshape", ["images", "scores_shape"], ["scores"]),
             helper.make_node("NonMaxSuppression", ["boxes", "scores", "per_class"], ["out"])]
    initializers = [helper.make_tensor("boxes_shape", TensorProto.INT64, [3], [1, 768, 4]),
                    helper.make_tensor("scores_shape", TensorProto.INT64, [3], [1, 4, 768]),
                    helper.make_tensor("per_class", TensorProto.INT64, [1], [10])]
    output = helper.make_tensor_value_info("out", TensorProto.INT64, [None, 3])
    path = _save_model(tmp_path / "nms.onnx", nodes, output, initializers)
    _assert_one_line_input_error(path, "NonMaxSuppression", "torchvision")
    with pytest.raises(ModuleNotFoundError):  # the stand-in served onnx2torch's import only
        importlib.import_module("torchvision")
