"""Rate-accuracy of the learned codec against JPEG and HEVC intra on held-out frames, per task.

Curves (bits per pixel -> task metric): lic-base (the frozen human codec, plain decoding),
lic-adapters (shared encoder adapter + the task's decoder adapter; people get the base decoder),
lic-finetuned (the whole codec fine-tuned for that task alone: the upper bound), jpeg (Pillow),
hevc (x265 intra, plain decoding) and hevc+filter (the task's post-filter on the HEVC picture).
Metrics against the original frames: human RGB PSNR (dB); detect F1 of YOLOv3-tiny's
detections at the task's operating score against its detections on the original (every size
of object; the measure of AccMPEG and DDS, which does not saturate the way mAP does at these
rates); classify EfficientNet-Lite0 top-1 agreement with the original on 224x224 tiles.
People and classification are measured on frames spread evenly over each clip; detection on
frames in which the detector finds an object on the original (elsewhere F1 counts only false
alarms), so each task's curve has its own bits per pixel.
"""

import io
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from PIL import Image

from vcm.eval.bdrate import bd_rate
from vcm.eval.detection_f1 import f1_score
from vcm.lic.coding import LearnedCodec
from vcm.lic.distortions import MACHINE_TASKS, TASKS
from vcm.lic.postfilter import HEVC_QPS, hevc_intra
from vcm.media.quality import luma_psnr
from vcm.models.efficientnet_lite import load_efficientnet_lite0
from vcm.rounding import rounded
from vcm.tasks.registry import DETECT_MIN_SCORE

if TYPE_CHECKING:
    from vcm.models.detector import Detector

JPEG_QUALITIES = (5, 10, 20, 35, 50, 75)
DETECT_FRAME_STEP = 8  # detection looks at every 8th frame of a clip (those holding an object)
TILE = 224
TASK_METRICS = {"human": "PSNR (dB)", "detect": f"F1 at score {DETECT_MIN_SCORE} vs original",
                "classify": "top-1 agreement"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Point:
    method: str
    task: str
    setting: str  # quality, QP or JPEG quality
    bpp: float
    metric: float


class TaskMetrics:
    """The metrics of `tasks` of decoded pictures against the originals (references computed once)."""

    def __init__(self, originals: Sequence[np.ndarray], tasks: Collection[str] = tuple(TASKS)) -> None:
        from vcm.models.yolo import YoloV3Tiny

        self.originals = list(originals)
        self.tasks = tuple(tasks)
        self.detector = YoloV3Tiny()
        self.classifier = load_efficientnet_lite0()
        self.reference_detections = self.detector.detect(self.originals) if "detect" in self.tasks else []
        self.reference_classes = self.classes(self.originals) if "classify" in self.tasks else np.empty(0)

    def classes(self, pictures: Sequence[np.ndarray]) -> np.ndarray:
        """Top-1 ImageNet class per 224x224 tile (a 3x2 grid spread over each picture; a picture
        with a side under 224 is first enlarged, bilinear, until it has none) -> (N * 6,)."""
        found = []
        for picture in pictures:
            height, width = picture.shape[:2]
            if min(height, width) < TILE:
                scale = TILE / min(height, width)
                width, height = max(TILE, round(width * scale)), max(TILE, round(height * scale))
                picture = cv2.resize(picture, (width, height), interpolation=cv2.INTER_LINEAR)
            tiles = [picture[top:top + TILE, left:left + TILE]
                     for top in np.linspace(0, height - TILE, 2).astype(int)
                     for left in np.linspace(0, width - TILE, 3).astype(int)]
            batch = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).float() / 255.0
            with torch.no_grad():
                found.append(self.classifier.logits(batch).argmax(dim=1).numpy())
        return np.concatenate(found)

    def score(self, task: str, pictures: Sequence[np.ndarray]) -> float:
        if task == "human":
            return float(np.mean([luma_psnr(o, p) for o, p in zip(self.originals, pictures, strict=True)]))
        if task == "detect":  # None: neither the original nor the picture holds a target, they agree
            found = f1_score(self.reference_detections, self.detector.detect(list(pictures)),
                             min_score=DETECT_MIN_SCORE)
            return 1.0 if found is None else found
        return float(np.mean(self.classes(pictures) == self.reference_classes))


def test_frames(per_clip: int, split: str = "test") -> list[np.ndarray]:
    """`per_clip` frames spread evenly over each clip of `split` (vcm.media.clips.CLIP_SPLITS; the
    test clips were never used in training or in any choice); (H, W, 3) uint8 of the clips' own
    sizes."""
    from vcm.lic.base_run import clip_frames
    from vcm.media.clips import CLIP_SPLITS

    return [frame for name in CLIP_SPLITS[split] for frame in clip_frames(name, per_clip)]


def every_nth_frame(name: str, step: int) -> Iterator[np.ndarray]:
    """Frames 0, step, 2 step, ... of the named clip, (H, W, 3) uint8, decoded one at a time."""
    from vcm.media import FrameSource
    from vcm.media.clips import clip_path

    with FrameSource(clip_path(name)) as source:
        for index, frame in enumerate(source):
            if index % step == 0:
                yield frame


def detection_frames(step: int = DETECT_FRAME_STEP, split: str = "test") -> list[np.ndarray]:
    """Every `step`-th frame of each clip of `split` in which YOLOv3-tiny finds at least one
    object at the operating score on the original; (H, W, 3) uint8."""
    from vcm.media.clips import CLIP_SPLITS
    from vcm.models.yolo import YoloV3Tiny

    detector = YoloV3Tiny()
    return [frame for name in CLIP_SPLITS[split]
            for frame in holding_objects(every_nth_frame(name, step), detector)]


def holding_objects(frames: Iterable[np.ndarray], detector: "Detector") -> Iterator[np.ndarray]:
    """The (H, W, 3) uint8 frames in which `detector` finds an object at the operating score."""
    for frame in frames:
        if any(d.score >= DETECT_MIN_SCORE for d in detector.detect([frame])[0]):
            yield frame


def test_sets(per_clip: int, detect_step: int = DETECT_FRAME_STEP,
              split: str = "test") -> dict[tuple[str, ...], list[np.ndarray]]:
    """The frames of `split`'s clips each task is measured on: people and classification on
    `per_clip` frames spread over each clip, detection on detection_frames(detect_step); a set
    with no frames is left out (its task then has no curve)."""
    machine_free = tuple(task for task in TASKS if task != "detect")
    sets = {machine_free: test_frames(per_clip, split), ("detect",): detection_frames(detect_step, split)}
    return {tasks: frames for tasks, frames in sets.items() if frames}


def jpeg(picture: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    """Pillow JPEG (4:2:0) at `quality` -> (decoded (H, W, 3) uint8, bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")), buffer.tell()


def lic_pictures(codec: LearnedCodec, frames: Sequence[np.ndarray], quality: int, machine: bool,
                 tasks: Sequence[str]) -> tuple[dict[str, list[np.ndarray]], float]:
    """Real compress/decompress of every frame -> pictures per task and the mean bits per pixel."""
    pictures: dict[str, list[np.ndarray]] = {task: [] for task in tasks}
    bits = 0
    for frame in frames:
        z_string, y_string = codec.encode_picture(frame, quality, machine)
        bits += 8 * (len(z_string) + len(y_string))
        for task in tasks:
            pictures[task].append(codec.decode_picture(z_string, y_string, frame.shape[1], frame.shape[0],
                                                       quality, task))
    return pictures, bits / pixel_count(frames)


def pixel_count(frames: Sequence[np.ndarray]) -> int:
    """Pixels of every frame together (frames may differ in size)."""
    return sum(frame.shape[0] * frame.shape[1] for frame in frames)


METHODS = ("lic-base", "lic-adapters", "lic-finetuned", "jpeg", "hevc", "hevc+filter")


def evaluate(frames: Sequence[np.ndarray], base: LearnedCodec, finetuned: dict[str, LearnedCodec],
             progress: Progress | None = None, methods: Collection[str] = METHODS,
             metrics: "TaskMetrics | None" = None, tasks: Collection[str] = tuple(TASKS)) -> list[Point]:
    """The points of `methods`' curves for `tasks` on (H, W, 3) uint8 test frames (of any
    sizes): bits per pixel over every frame together, each task's metric over every frame."""
    say = progress or (lambda _: None)
    metrics = metrics or TaskMetrics(frames, tasks)
    pixels = pixel_count(frames)
    points: list[Point] = []

    def add(method: str, setting: str, bpp: float, pictures: dict[str, list[np.ndarray]]) -> None:
        if method not in methods:
            return
        for task, decoded in pictures.items():
            points.append(Point(method, task, setting, bpp, metrics.score(task, decoded)))

    all_tasks = tuple(task for task in TASKS if task in tasks)
    machine_tasks = tuple(task for task in all_tasks if task in MACHINE_TASKS)
    for quality in range(1, base.qualities + 1):
        say(f"lic quality {quality}")
        if "lic-base" in methods:  # the frozen codec alone: every task gets people's picture
            pictures, bpp = lic_pictures(base, frames, quality, False, ("human",))
            add("lic-base", f"q{quality}", bpp, {task: pictures["human"] for task in all_tasks})
        if "lic-adapters" in methods:
            pictures, bpp = lic_pictures(base, frames, quality, True, all_tasks)
            add("lic-adapters", f"q{quality}", bpp, pictures)
        for task, codec in finetuned.items() if "lic-finetuned" in methods else ():
            if task not in tasks:
                continue
            pictures, bpp = lic_pictures(codec, frames, quality, False, ("human",))
            add("lic-finetuned", f"q{quality}", bpp, {task: pictures["human"]})
    for quality in JPEG_QUALITIES if "jpeg" in methods else ():
        say(f"jpeg {quality}")
        coded = [jpeg(frame, quality) for frame in frames]
        decoded = [picture for picture, _ in coded]
        add("jpeg", f"jpeg{quality}", 8 * sum(size for _, size in coded) / pixels,
            {task: decoded for task in all_tasks})
    for qp in HEVC_QPS if {"hevc", "hevc+filter"} & set(methods) else ():
        say(f"hevc qp {qp}")
        decoded, sizes = hevc_intra(frames, qp)
        bpp = 8 * sum(sizes) / pixels
        add("hevc", f"qp{qp}", bpp, {task: decoded for task in all_tasks})
        add("hevc+filter", f"qp{qp}", bpp,
            {task: [base.postfilter(picture, task) for picture in decoded]
             for task in base.postfilters if task in machine_tasks})
    return points


def evaluate_sets(sets: dict[tuple[str, ...], list[np.ndarray]], base: LearnedCodec,
                  finetuned: dict[str, LearnedCodec], progress: Progress | None = None,
                  methods: Collection[str] = METHODS,
                  metrics: "dict[tuple[str, ...], TaskMetrics] | None" = None) -> list[Point]:
    """evaluate() on each frame set of test_sets() (tasks -> frames) for its tasks; `metrics`
    holds each set's references when they are reused (several seeds)."""
    return [point for tasks, frames in sets.items()
            for point in evaluate(frames, base, finetuned, progress, methods,
                                  metrics[tasks] if metrics else TaskMetrics(frames, tasks), tasks)]


def curve(points: Sequence[Point], method: str, task: str) -> tuple[list[float], list[float]]:
    chosen = sorted((p.bpp, p.metric) for p in points if p.method == method and p.task == task)
    return [bpp for bpp, _ in chosen], [metric for _, metric in chosen]


def gap_recovered(points: Sequence[Point], task: str) -> float | None:
    """BD-rate(adapters vs base) / BD-rate(fine-tuned vs base) on `task`'s metric: the share of
    the bits that fine-tuning the whole codec saves which the adapters save too. None when a
    BD-rate is undefined or fine-tuning saves nothing."""
    base = curve(points, "lic-base", task)
    adapters = bd_rate(*base, *curve(points, "lic-adapters", task))
    finetuned = bd_rate(*base, *curve(points, "lic-finetuned", task))
    if adapters is None or finetuned is None or finetuned >= 0:
        return None
    return adapters / finetuned


COMPARISONS = {  # (test method, reference method, tasks): BD-rate of the test against the reference
    "lic-base vs jpeg": ("lic-base", "jpeg", ("human",)),
    "hevc vs jpeg": ("hevc", "jpeg", ("human",)),
    "lic-base vs hevc": ("lic-base", "hevc", ("human",)),
    "lic-adapters vs lic-base": ("lic-adapters", "lic-base", MACHINE_TASKS),
    "lic-finetuned vs lic-base": ("lic-finetuned", "lic-base", MACHINE_TASKS),
    "hevc+filter vs hevc": ("hevc+filter", "hevc", MACHINE_TASKS),
    "lic-adapters vs hevc": ("lic-adapters", "hevc", MACHINE_TASKS),
}


def summary(points: Sequence[Point]) -> dict[str, object]:
    """BD-rates (percent, negative = fewer bits) per comparison and task, and the gap recovered."""
    rates: dict[str, dict[str, float | None]] = {}
    for name, (test, reference, tasks) in COMPARISONS.items():
        rates[name] = {task: rounded(bd_rate(*curve(points, reference, task), *curve(points, test, task)),
                                     "percent") for task in tasks}
    return {"bd_rate_percent": rates,
            "gap_recovered": {task: rounded(gap_recovered(points, task), "share") for task in MACHINE_TASKS},
            "points": [asdict(p) | {"bpp": rounded(p.bpp, "share"), "metric": rounded(p.metric, "db")}
                       for p in points]}
