"""The experiment runner: cut videos into segments, run every method (and its ladder),
decode, re-detect and measure."""

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vcm.eval.detection_ap import mean_average_precision
from vcm.eval.metrics import luma_ms_ssim, luma_psnr
from vcm.media import luma_of, read_video
from vcm.models.detector import Detection, Detector
from vcm.models.faces import Face, FaceDetector, FaceIdentity
from vcm.pipeline import EncodeReport, run_method
from vcm.planners import METHODS, FastConfig, PlanSettings, XaiBudget
from vcm.preedit.network import DEFAULT_MODEL, load_preeditor
from vcm.privacy.leakage import PrivacyReport, detect_faces, privacy_report
from vcm.privacy.mode import PrivacyConfig
from vcm.targets import TargetSpec, select_targets, survives

Progress = Callable[[str, int, int], None]
UNIFORM_LADDER = (22, 26, 30, 34, 38, 42, 46)
BBOX_LADDER = (26, 30, 34, 38)
KEEP_SCORE_LADDER = (0.7, 0.5, 0.3)  # frame-qp and xai: the score a target must keep
FAST_LADDER = (32, 36, 40)  # fast: QP of a confident 64 px target
SEARCH_METHODS = ("frame-qp", "xai")
MODIFIERS = ("preedit", "privacy")


@dataclass(frozen=True)
class MethodSpec:
    """A method name of the harness: a planner with optional modifiers, e.g. 'fast+preedit'
    or 'xai+preedit+privacy' (pre-edited frames, then faces concealed)."""

    planner: str
    preedit: bool = False
    privacy: bool = False

    @classmethod
    def parse(cls, name: str) -> "MethodSpec":
        planner, *modifiers = name.split("+")
        if planner not in METHODS or any(m not in MODIFIERS for m in modifiers):
            raise ValueError(f"unknown method {name!r}")
        return cls(planner, "preedit" in modifiers, "privacy" in modifiers)


def check_methods(names: Sequence[str]) -> None:
    """Raise ValueError naming any method that is not a planner with known modifiers."""
    unknown = []
    for name in names:
        try:
            MethodSpec.parse(name)
        except ValueError:
            unknown.append(name)
    if unknown or not names:
        raise ValueError(f"unknown method(s) {', '.join(unknown) or '(none)'}; choose from "
                         f"{', '.join(METHODS)}, each optionally with "
                         f"{' and/or '.join('+' + m for m in MODIFIERS)}")


@dataclass(frozen=True)
class LadderPoint:
    """One operating point of a method: a label and the knobs that set it."""

    label: str
    main: bool
    settings: PlanSettings
    fast: FastConfig | None = None


@dataclass
class EvalConfig:
    """What to run. repair_rounds applies to the search methods (frame-qp, xai);
    privacy_metrics adds face-identity leak rate and person detection rate to every row
    (always on when a METHOD+privacy is run); privacy: the settings of those methods;
    preedit_model: the pre-editor METHOD+preedit methods use (a file, or "default" for the
    shipped one); preedit_detections: let it edit what the detector found too."""

    methods: Sequence[str] = ("uniform", "bbox", "frame-qp", "xai", "fast")
    segment: int = 33
    max_segments: int | None = None
    codec: str = "hevc"
    gop: int = 32
    qp: int = 30
    max_qp: int = 51
    targets: TargetSpec = field(default_factory=TargetSpec)
    ladder: bool = False
    repair_rounds: int = 1
    check: str = "intra"
    budget: XaiBudget = field(default_factory=XaiBudget)
    fast: FastConfig = field(default_factory=FastConfig)
    privacy_metrics: bool = False
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    preedit_model: str = DEFAULT_MODEL
    preedit_detections: bool = False

    @property
    def measures_privacy(self) -> bool:
        return self.privacy_metrics or any(MethodSpec.parse(m).privacy for m in self.methods)


@dataclass
class Segment:
    """Frames [start, start + len) of one video, the detections on the original and, when
    privacy is measured, its faces."""

    video: str
    index: int
    start: int
    frames: np.ndarray
    fps: float
    detections: list[list[Detection]]
    faces: list[list[Face]] | None = None


@dataclass
class ResultRow:
    """One method at one operating point on one segment (a row of results.csv)."""

    video: str
    segment: int
    start_frame: int
    frames: int
    method: str
    point: str
    main: bool
    bytes: int
    bitrate_kbps: float
    size_ratio: float
    detection_rate: float
    lost_frames: int
    lost_before_repair: int
    map50: float
    psnr_y_db: float
    ms_ssim_y: float
    seconds_per_frame: float
    checks_per_frame: float
    detector_calls_per_frame: float
    stream: str
    leak_rate: float | None = None
    faces_recognisable: int | None = None
    faces_too_small: int | None = None
    person_detection_rate: float | None = None


Example = tuple[Segment, EncodeReport]


def ladder(method: str, config: EvalConfig) -> list[LadderPoint]:
    """The operating points of a method: only the main one unless config.ladder."""
    method = MethodSpec.parse(method).planner
    base = PlanSettings(codec=config.codec, gop=config.gop, qp=config.qp, max_qp=config.max_qp,
                        targets=config.targets, check=config.check)
    if method in ("uniform", "bbox"):
        qps = (UNIFORM_LADDER if method == "uniform" else BBOX_LADDER) if config.ladder else ()
        values = sorted({*qps, config.qp})
        return [LadderPoint(f"qp{qp}", qp == config.qp, dataclasses.replace(base, qp=qp)) for qp in values]
    if method in SEARCH_METHODS:
        keeps = KEEP_SCORE_LADDER if config.ladder else (config.targets.min_score,)
        return [LadderPoint(f"keep{keep:g}", keep == config.targets.min_score,
                            dataclasses.replace(base, targets=dataclasses.replace(config.targets,
                                                                                  keep_score=keep)))
                for keep in keeps]
    roi_values = sorted({*(FAST_LADDER if config.ladder else ()), config.fast.roi_qp})
    return [LadderPoint(f"roi{roi}", roi == config.fast.roi_qp, base,
                        dataclasses.replace(config.fast, roi_qp=roi)) for roi in roi_values]


def segments(paths: Sequence[str | Path], config: EvalConfig, detector: Detector,
             progress: Progress | None = None, face_detector: FaceDetector | None = None) -> list[Segment]:
    """Cut each video into whole segments of config.segment frames and detect on them
    (objects, and faces too when a face detector is given)."""
    cut: list[Segment] = []
    for path in paths:
        video = read_video(path)
        count = len(video) // config.segment
        if config.max_segments is not None:
            count = min(count, config.max_segments)
        if count == 0:
            count = 1  # a clip shorter than one segment is one segment
        for index in range(count):
            frames = video.frames[index * config.segment : (index + 1) * config.segment]
            detections = []
            for number, frame in enumerate(frames):
                detections.extend(detector.detect(frame[None]))
                if progress:
                    progress(f"detect {Path(path).name} segment {index}", number + 1, len(frames))
            faces = None
            if face_detector is not None:
                label = f"faces {Path(path).name} segment {index}"
                faces = detect_faces(frames, face_detector, _per_frame(progress, label, len(frames)))
            cut.append(Segment(str(path), index, index * config.segment, frames, video.fps, detections,
                               faces))
    return cut


def measure(report: EncodeReport, segment: Segment, point: LadderPoint, reference_bytes: int,
            original_luma: np.ndarray, spec: TargetSpec, privacy: PrivacyReport | None = None) -> ResultRow:
    """Metrics of one encode: survival under the standard spec (not the point's keep_score),
    and the privacy figures when a privacy report is given."""
    targets = select_targets(segment.detections, spec)
    survived = [[survives(t, found, spec) for t in frame_targets]
                for frame_targets, found in zip(targets, report.decoded_detections, strict=True)]
    total = sum(len(flags) for flags in survived)
    kept = sum(sum(flags) for flags in survived)
    frames = len(report.frames)
    return ResultRow(
        video=Path(segment.video).name, segment=segment.index, start_frame=segment.start, frames=frames,
        method=report.method, point=point.label, main=point.main, bytes=report.total_bytes,
        bitrate_kbps=round(report.bitrate_kbps, 3),
        size_ratio=round(report.total_bytes / reference_bytes, 4),
        detection_rate=round(kept / total, 4) if total else 1.0,
        lost_frames=sum(1 for flags in survived if not all(flags)),
        lost_before_repair=report.lost_before_repair,
        map50=round(mean_average_precision(segment.detections, report.decoded_detections), 4),
        psnr_y_db=round(luma_psnr(original_luma, report.decoded_luma), 3),
        ms_ssim_y=round(luma_ms_ssim(original_luma, report.decoded_luma), 5),
        seconds_per_frame=round(report.seconds_per_frame(), 4),
        checks_per_frame=round(sum(f.checks for f in report.frames) / frames, 2),
        detector_calls_per_frame=round(sum(f.detector_calls for f in report.frames) / frames, 2),
        stream=report.path,
        leak_rate=None if privacy is None or privacy.leak_rate is None else round(privacy.leak_rate, 4),
        faces_recognisable=None if privacy is None else privacy.recognisable,
        faces_too_small=None if privacy is None else privacy.too_small,
        person_detection_rate=None if privacy is None or privacy.person_detection_rate is None
        else round(privacy.person_detection_rate, 4),
    )


def _per_frame(progress: Progress | None, label: str, total: int) -> Callable[[int], None] | None:
    """A per-frame callback reporting `label` progress, or None without progress."""
    if progress is None:
        return None
    return lambda index: progress(label, index + 1, total)


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    if progress is None:
        return None
    return lambda label, done, total: progress(f"{prefix} {label}", done, total)


@dataclass
class FaceModels:
    """The face detector and identity model privacy measurement needs."""

    detector: FaceDetector
    identity: FaceIdentity


def run_eval(paths: Sequence[str | Path], config: EvalConfig, detector: Detector, out_dir: Path,
             progress: Progress | None = None, faces: FaceModels | None = None,
             ) -> tuple[list[ResultRow], dict[tuple[str, str], Example]]:
    """Run every method and ladder point on every segment. Returns the rows and, for the
    report's example frames, the main point's EncodeReport of each video's first segment
    per (video, method). `faces` is required when config.measures_privacy."""
    check_methods(config.methods)
    if config.measures_privacy and faces is None:
        raise ValueError("privacy measurement needs the face models")
    face_models = faces if config.measures_privacy else None
    preeditor = None
    if any(MethodSpec.parse(m).preedit for m in config.methods):
        preeditor = load_preeditor(config.preedit_model)
    streams = out_dir / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    rows: list[ResultRow] = []
    examples: dict[tuple[str, str], Example] = {}
    face_detector = face_models.detector if face_models else None
    for segment in segments(paths, config, detector, progress, face_detector):
        original_luma = np.stack([luma_of(frame) for frame in segment.frames])
        name = f"{Path(segment.video).stem}_s{segment.index:03d}"
        reference_settings = PlanSettings(codec=config.codec, gop=config.gop, qp=30, targets=config.targets)
        reference = run_method("uniform", segment.frames, segment.fps, streams / f"{name}_reference.mp4",
                               detector, reference_settings, detections=segment.detections)
        for method in config.methods:
            spec = MethodSpec.parse(method)
            for point in ladder(method, config):
                report = run_method(
                    spec.planner, segment.frames, segment.fps, streams / f"{name}_{method}_{point.label}.mp4",
                    detector, point.settings, detections=segment.detections,
                    repair_rounds=config.repair_rounds if spec.planner in SEARCH_METHODS else 0,
                    fast=point.fast, budget=config.budget, privacy=config.privacy if spec.privacy else None,
                    preeditor=preeditor if spec.preedit else None,
                    preedit_detections=config.preedit_detections,
                    faces=segment.faces, face_detector=face_detector,
                    progress=_prefixed(progress, f"{name} {point.label}"),
                )
                leakage = None
                if face_models is not None and report.decoded_rgb is not None:
                    leakage = privacy_report(
                        segment.frames, report.decoded_rgb, face_detector=face_models.detector,
                        identity=face_models.identity, detector=detector, spec=config.targets,
                        faces=segment.faces, original_detections=segment.detections,
                        decoded_detections=report.decoded_detections)
                rows.append(measure(report, segment, point, reference.total_bytes, original_luma,
                                    config.targets, leakage))
                if point.main and segment.index == 0:
                    examples[(Path(segment.video).name, method)] = (segment, report)
    return rows, examples
