"""The experiment runner: cut videos into segments, run every method (and its ladder),
decode, re-detect and measure."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vcm.errors import InputError
from vcm.eval.detection_ap import mean_average_precision
from vcm.eval.metrics import luma_ms_ssim, luma_psnr
from vcm.figures import rounded
from vcm.media import FrameSource, luma_of
from vcm.methods import Method, parse_methods
from vcm.models.detector import Detection, Detector, detect_frames
from vcm.models.detectors import DEFAULT_DETECTOR
from vcm.models.faces import Face, FaceDetector, FaceIdentity, detect_faces
from vcm.pipeline import Edits, EncodeReport, Known, Verification, run_method, windows
from vcm.planners import PLANNERS, LadderPoint, PlanSettings, planner_entry
from vcm.preedit.network import DEFAULT_MODEL, load_preeditor
from vcm.privacy.leakage import PrivacyReport, privacy_report
from vcm.privacy.mode import PrivacyConfig
from vcm.progress import ProgressCallback
from vcm.targets import TargetSpec, select_targets, survival


@dataclass
class EvalConfig:
    """What to run. methods: names as vcm.methods.Method parses them; planner_configs: a
    config per planner name (default: the registry's); repair_rounds applies to the
    planners registered as repairable (frame-qp, xai);
    privacy_metrics adds face-identity leak rate and person detection rate to every row
    (always on when a METHOD+privacy is run); privacy: the settings of those methods;
    preedit_model: the pre-editor METHOD+preedit methods use (a file, or "default" for the
    shipped one); preedit_detections: let it edit what the detector found too; detector:
    the object detector's registry name (finds targets, plans, checks survival)."""

    methods: Sequence[str] = tuple(PLANNERS)
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
    planner_configs: Mapping[str, Any] = field(default_factory=dict)
    privacy_metrics: bool = False
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    preedit_model: str = DEFAULT_MODEL
    preedit_detections: bool = False
    detector: str = DEFAULT_DETECTOR

    def __post_init__(self) -> None:
        parse_methods(self.methods)
        if self.segment < 1:
            raise InputError(f"--segment must be at least 1, got {self.segment}")
        if self.max_segments is not None and self.max_segments < 1:
            raise InputError(f"--max-segments must be at least 1, got {self.max_segments}")

    @property
    def measures_privacy(self) -> bool:
        return self.privacy_metrics or any(m.privacy for m in parse_methods(self.methods))

    def planner_config(self, planner: str) -> Any:
        return self.planner_configs.get(planner, planner_entry(planner).default_config())


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
    """The operating points of a method (from the planner registry): only the main one
    unless config.ladder."""
    planner = Method.parse(method).planner
    base = PlanSettings(codec=config.codec, gop=config.gop, qp=config.qp, max_qp=config.max_qp,
                        targets=config.targets, check=config.check)
    return planner_entry(planner).points(base, config.planner_config(planner), full=config.ladder)


def segments(paths: Sequence[str | Path], config: EvalConfig, detector: Detector,
             progress: ProgressCallback | None = None,
             face_detector: FaceDetector | None = None) -> Iterator[Segment]:
    """Each video cut into whole segments of config.segment frames (a video shorter than one
    segment is one segment), read one segment at a time, with the detections on it (and
    faces too when a face detector is given)."""
    for path in paths:
        with FrameSource(path) as source:
            chunks = windows(source, config.segment)
            for index, (start, frames) in enumerate(chunks):
                if config.max_segments is not None and index >= config.max_segments:
                    break
                if index > 0 and len(frames) < config.segment:
                    break
                label = f"detect {Path(path).name} segment {index}"
                detections = detect_frames(detector, frames, _per_frame(progress, label, len(frames)))
                faces = None
                if face_detector is not None:
                    label = f"faces {Path(path).name} segment {index}"
                    faces = detect_faces(frames, face_detector, _per_frame(progress, label, len(frames)))
                yield Segment(str(path), index, start, frames, source.fps, detections, faces)


def measure(report: EncodeReport, segment: Segment, point: LadderPoint, reference_bytes: int,
            original_luma: np.ndarray, spec: TargetSpec, privacy: PrivacyReport | None = None) -> ResultRow:
    """Metrics of one encode: survival under the standard spec (not the point's keep_score),
    and the privacy figures when a privacy report is given."""
    targets = select_targets(segment.detections, spec)
    survived = [survival(frame_targets, found, spec)
                for frame_targets, found in zip(targets, report.decoded_detections, strict=True)]
    total = sum(len(flags) for flags in survived)
    kept = sum(sum(flags) for flags in survived)
    frames = report.frame_count
    return ResultRow(
        video=Path(segment.video).name, segment=segment.index, start_frame=segment.start, frames=frames,
        method=report.method, point=point.label, main=point.main, bytes=report.total_bytes,
        bitrate_kbps=rounded(report.bitrate_kbps, "kbps"),
        size_ratio=rounded(report.total_bytes / reference_bytes, "share"),
        detection_rate=rounded(kept / total, "share") if total else 1.0,
        lost_frames=sum(1 for flags in survived if not all(flags)),
        lost_before_repair=report.lost_before_repair,
        map50=rounded(mean_average_precision(segment.detections, report.decoded_detections), "share"),
        psnr_y_db=rounded(luma_psnr(original_luma, report.decoded_luma), "db"),
        ms_ssim_y=rounded(luma_ms_ssim(original_luma, report.decoded_luma), "ssim"),
        seconds_per_frame=rounded(report.seconds_per_frame(), "seconds"),
        checks_per_frame=rounded(report.checks / frames, "per_frame"),
        detector_calls_per_frame=rounded(report.detector_calls / frames, "per_frame"),
        stream=report.path,
        leak_rate=None if privacy is None else rounded(privacy.leak_rate, "share"),
        faces_recognisable=None if privacy is None else privacy.recognisable,
        faces_too_small=None if privacy is None else privacy.too_small,
        person_detection_rate=None if privacy is None else rounded(privacy.person_detection_rate, "share"),
    )


def _per_frame(progress: ProgressCallback | None, label: str, total: int) -> Callable[[int], None] | None:
    """A per-frame callback reporting `label` progress, or None without progress."""
    if progress is None:
        return None
    return lambda index: progress(label, index + 1, total)


def _prefixed(progress: ProgressCallback | None, prefix: str) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda label, done, total: progress(f"{prefix} {label}", done, total)


@dataclass
class FaceModels:
    """The face detector and identity model privacy measurement needs."""

    detector: FaceDetector
    identity: FaceIdentity


def run_eval(paths: Sequence[str | Path], config: EvalConfig, detector: Detector, out_dir: Path,
             progress: ProgressCallback | None = None, faces: FaceModels | None = None,
             ) -> tuple[list[ResultRow], dict[tuple[str, str], Example]]:
    """Run every method and ladder point on every segment. Returns the rows and, for the
    report's example frames, the main point's EncodeReport of each video's first segment
    per (video, method). `faces` is required when config.measures_privacy."""
    methods = parse_methods(config.methods)
    if config.measures_privacy and faces is None:
        raise ValueError("privacy measurement needs the face models")
    face_models = faces if config.measures_privacy else None
    preeditor = load_preeditor(config.preedit_model) if any(m.preedit for m in methods) else None
    streams = out_dir / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    rows: list[ResultRow] = []
    examples: dict[tuple[str, str], Example] = {}
    face_detector = face_models.detector if face_models else None
    check_every_frame = Verification(enabled=True, every=1)
    for segment in segments(paths, config, detector, progress, face_detector):
        original_luma = np.stack([luma_of(frame) for frame in segment.frames])
        name = f"{Path(segment.video).stem}_s{segment.index:03d}"
        known = Known(detections=segment.detections, faces=segment.faces)
        window = len(segment.frames)
        reference_settings = PlanSettings(codec=config.codec, gop=config.gop, qp=30, targets=config.targets)
        reference = run_method("uniform", segment.frames, segment.fps, streams / f"{name}_reference.mp4",
                               detector, reference_settings, verify=check_every_frame, known=known,
                               window=window)
        for method in methods:
            edits = Edits(preeditor=preeditor if method.preedit else None,
                          preedit_detections=config.preedit_detections,
                          privacy=config.privacy if method.privacy else None, face_detector=face_detector)
            repair = config.repair_rounds if method.entry.repairable else 0
            for point in ladder(str(method), config):
                report = run_method(
                    method.planner, segment.frames, segment.fps,
                    streams / f"{name}_{method}_{point.label}.mp4", detector, point.settings,
                    config=point.config, edits=edits, verify=Verification(every=1, repair_rounds=repair),
                    known=known, window=window, keep_frames=True,
                    progress=_prefixed(progress, f"{name} {point.label}"))
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
                    examples[(Path(segment.video).name, str(method))] = (segment, report)
    if not rows:
        raise InputError("no segment to evaluate")
    return rows, examples


@dataclass(frozen=True)
class EvalJob:
    """Videos to evaluate together (one Ray task evaluates one job)."""

    videos: tuple[str, ...]
    config: EvalConfig
    out_dir: Path


def evaluate_videos(job: EvalJob, progress: ProgressCallback | None = None
                    ) -> tuple[list[ResultRow], dict[tuple[str, str], Example]]:
    """run_eval with the models loaded here (so it runs as a task on any worker)."""
    from vcm.models import load_detector

    faces = None
    if job.config.measures_privacy:
        from vcm.models.dlib_identity import load_face_identity
        from vcm.models.mtcnn import load_face_detector

        faces = FaceModels(load_face_detector(), load_face_identity())
    return run_eval(job.videos, job.config, load_detector(job.config.detector), job.out_dir, progress, faces)
