"""The experiment runner: cut videos into segments, run every method (and its ladder),
decode, re-detect and measure."""

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vcm.atomic import atomic_output
from vcm.errors import InputError
from vcm.eval.detection_ap import mean_average_precision
from vcm.eval.detection_f1 import f1_score
from vcm.eval.references import REFERENCES, Reference
from vcm.eval.vmaf import vmaf_binary, vmaf_scores
from vcm.media import FrameSource, luma_of, windows
from vcm.media.quality import luma_ms_ssim, luma_psnr
from vcm.models.detector import Detection, Detector, detect_frames
from vcm.models.detectors import DEFAULT_DETECTOR, check_detector_name, load_detector
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR, MEASURING_FACE_DETECTOR
from vcm.models.faces import Face, FaceDetector, FaceIdentity, detect_faces
from vcm.pipeline import VERIFY_EVERY, Edits, EncodeReport, Known, Verification, run_method
from vcm.pipeline.methods import Method, parse_methods
from vcm.planners import LadderPoint, PlanSettings, listed_planners, planner_entry
from vcm.preedit.network import DEFAULT_MODEL, load_preeditor
from vcm.privacy.leakage import PrivacyReport, privacy_report
from vcm.privacy.mode import PrivacyConfig
from vcm.progress import ProgressCallback
from vcm.rounding import rounded
from vcm.tasks import load_task_model, task_entry
from vcm.tasks.targets import TargetSpec, keep_threshold, select_targets, survival

NEAR_THRESHOLD = 0.05  # a lost target whose original score was this close to the kept score is fragile

@dataclass
class EvalConfig:
    """What to run. methods: names as vcm.pipeline.methods.Method parses them; planner_configs: a
    config per planner name (default: the registry's); repair_rounds applies to the
    planners registered as repairable (frame-qp);
    privacy_metrics adds face-identity leak rate and person detection rate to every row
    (always on when a METHOD+privacy is run); privacy: the settings of those methods;
    preedit_model: the pre-editor METHOD+preedit methods use (a file, or a shipped name);
    preedit_detections: let it edit what the detector found too; detector:
    the object detector's registry name; task: what the planners keep ("detect": the
    detector's objects, "pose": MoveNet poses); targets: the planning task's target spec;
    pose_metrics adds pose accuracy (OKS) to every row (always on with task "pose");
    conceal_faces_with / leak_faces_with: the face detectors that find the faces the
    privacy methods conceal and the faces whose identity leak is measured (they must differ:
    a face the concealer misses has to be counted); references: reference codings
    (vcm.eval.references) measured beside the methods, each over its own ladder; measured_by:
    other detectors (registry names) that also judge every encode by F1; perceptual_metrics
    adds VMAF and VMAF-NEG (libvmaf, vcm.eval.vmaf) to every row."""

    methods: Sequence[str] = tuple(listed_planners())
    segment: int = 33
    max_segments: int | None = None
    first_segment: int = 0
    segment_stride: int = 1
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
    task: str = "detect"
    pose_metrics: bool = False
    conceal_faces_with: str = CONCEALING_FACE_DETECTOR
    leak_faces_with: str = MEASURING_FACE_DETECTOR
    references: Sequence[str] = ()
    measured_by: Sequence[str] = ()
    perceptual_metrics: bool = False

    def __post_init__(self) -> None:
        parse_methods(self.methods)
        task_entry(self.task)
        for name in self.references:
            REFERENCES.entry(name)
        for name in self.measured_by:
            check_detector_name(name)
            if name == self.detector:
                raise InputError(f"--measured-by {name} is the planning detector; name other detectors")
        if self.segment < 1:
            raise InputError(f"--segment must be at least 1, got {self.segment}")
        if self.max_segments is not None and self.max_segments < 1:
            raise InputError(f"--max-segments must be at least 1, got {self.max_segments}")
        if self.first_segment < 0:
            raise InputError(f"--first-segment must be at least 0, got {self.first_segment}")
        if self.segment_stride < 1:
            raise InputError(f"--segment-stride must be at least 1, got {self.segment_stride}")
        if self.leak_faces_with == self.conceal_faces_with:
            raise InputError(f"leaks must be measured with another face detector than the one that "
                             f"conceals ({self.conceal_faces_with}); choose another --leak-face-detector")

    @property
    def measures_pose(self) -> bool:
        return self.pose_metrics or self.task == "pose"

    def spec(self, task: str) -> TargetSpec:
        """The target spec a task is measured with: config.targets for the planning task,
        the same with that task's default min_score for the other."""
        if task == self.task:
            return self.targets
        return dataclasses.replace(self.targets, min_score=task_entry(task).min_score, keep_score=None)

    @property
    def measures_privacy(self) -> bool:
        return self.privacy_metrics or any(m.privacy for m in parse_methods(self.methods))

    def planner_config(self, planner: str) -> Any:
        return self.planner_configs.get(planner, planner_entry(planner).default_config())


@dataclass
class Segment:
    """Frames [start, start + len) of one video, the detections on the original and, when
    privacy is measured, its faces (found by the measuring detector) and concealed_faces (by
    the concealing one), and when poses are, its poses (as Detections)."""

    video: str
    index: int
    start: int
    frames: np.ndarray
    fps: float
    detections: list[list[Detection]]
    faces: list[list[Face]] | None = None
    concealed_faces: list[list[Face]] | None = None
    poses: list[list[Detection]] | None = None


@dataclass
class ResultRow:
    """One method at one operating point on one segment (a row of results.csv). lost_targets:
    targets lost over the segment; lost_near_threshold: those of them whose original score
    was within NEAR_THRESHOLD of the score they had to keep (fragile ones). leak_rate counts
    the measurable faces (vcm.privacy.leakage) the measuring (independent) face detector finds
    on the original, leak_rate_to[attacker] the faces_measured_by[attacker] that attacker can
    measure, leak_rate_raw every recognisable face;
    concealer_leak_rate the faces the concealing detector finds (the privacy mode's own view);
    person_detection_rate: the share of the segment's person_targets (person boxes on the original
    frames) still detected after decoding;
    f1: F1 of the decoded frames' detections against the original's at the task's operating
    score (None when neither has one; see vcm.eval.detection_f1); f1_by: the same F1 by each
    other detector of config.measured_by (plan with one model, measure with another)."""

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
    recodes_per_frame: float = 0.0
    lost_targets: int = 0
    lost_near_threshold: int = 0
    leak_rate: float | None = None
    leak_rate_to: dict[str, float | None] = field(default_factory=dict)
    leak_rate_as_decoded: float | None = None
    leak_rate_raw: float | None = None
    faces_recognisable: int | None = None
    faces_measurable: int | None = None
    faces_measured_by: dict[str, int] = field(default_factory=dict)
    faces_too_small: int | None = None
    concealer_leak_rate: float | None = None
    concealer_faces_measurable: int | None = None
    person_detection_rate: float | None = None
    person_targets: int | None = None
    pose_accuracy: float | None = None
    f1: float | None = None
    f1_by: dict[str, float | None] = field(default_factory=dict)
    vmaf: float | None = None
    vmaf_neg: float | None = None


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
             faces: "FaceModels | None" = None, pose_model: Detector | None = None
             ) -> Iterator[Segment]:
    """Each video cut into whole segments of config.segment frames (a video shorter than one
    segment is one segment), from segment config.first_segment on, every
    config.segment_stride-th (max_segments of them at most), read one segment at a time,
    with the detections on it (and the faces both face detectors find when face models are
    given, poses when a pose model is)."""
    for path in paths:
        with FrameSource(path) as source:
            chunks = windows(source, config.segment)
            for index, (start, frames) in enumerate(chunks):
                offset = index - config.first_segment
                if offset < 0 or offset % config.segment_stride:
                    continue
                if config.max_segments is not None and offset // config.segment_stride >= config.max_segments:
                    break
                if index > 0 and len(frames) < config.segment:
                    break
                label = f"detect {Path(path).name} segment {index}"
                detections = detect_frames(detector, frames, _per_frame(progress, label, len(frames)))
                found = concealed = None
                if faces is not None:
                    label = f"faces {Path(path).name} segment {index}"
                    found = detect_faces(frames, faces.detector, _per_frame(progress, label, len(frames)))
                    label = f"faces to conceal {Path(path).name} segment {index}"
                    concealed = detect_faces(frames, faces.concealer,
                                             _per_frame(progress, label, len(frames)))
                poses = None
                if pose_model is not None:
                    label = f"poses {Path(path).name} segment {index}"
                    poses = detect_frames(pose_model, frames, _per_frame(progress, label, len(frames)))
                yield Segment(str(path), index, start, frames, source.fps, detections, found, concealed,
                              poses)


@dataclass(frozen=True)
class Decoded:
    """What the measured models found on an encode's decoded frames: objects, and poses
    when pose accuracy is measured."""

    detections: list[list[Detection]]
    poses: list[list[Detection]] | None = None


def survived_per_frame(original: Sequence[Sequence[Detection]], decoded: Sequence[Sequence[Detection]],
                       spec: TargetSpec) -> list[list[bool]]:
    """Per frame, per target (selected from `original` by spec), whether it survives."""
    targets = select_targets(original, spec)
    return [survival(frame_targets, found, spec)
            for frame_targets, found in zip(targets, decoded, strict=True)]


def lost_headroom(original: Sequence[Sequence[Detection]], survived: Sequence[Sequence[bool]],
                  spec: TargetSpec) -> list[float]:
    """Per lost target (selected from `original` by spec), its original score's headroom above
    the score it had to keep."""
    targets = select_targets(original, spec)
    return [target.score - keep_threshold(target, spec)
            for frame_targets, flags in zip(targets, survived, strict=True)
            for target, kept in zip(frame_targets, flags, strict=True) if not kept]


def share_kept(survived: Sequence[Sequence[bool]]) -> float:
    """Share of targets kept over all frames; 1.0 when there is no target."""
    total = sum(len(flags) for flags in survived)
    return rounded(sum(sum(flags) for flags in survived) / total, "share") if total else 1.0


def measure(report: EncodeReport, segment: Segment, point: LadderPoint, reference_bytes: int,
            original_luma: np.ndarray, config: EvalConfig, decoded: Decoded,
            privacy: PrivacyReport | None = None, concealer_privacy: PrivacyReport | None = None
            ) -> ResultRow:
    """Metrics of one encode: survival under each task's standard spec (not the point's
    keep_score), pose accuracy when measured, and the privacy figures when given (on the
    measuring detector's faces, and on the concealing detector's)."""
    spec = config.spec("detect")
    survived = survived_per_frame(segment.detections, decoded.detections, spec)
    lost = lost_headroom(segment.detections, survived, spec)
    pose_accuracy = None
    if segment.poses is not None and decoded.poses is not None:
        pose_accuracy = share_kept(survived_per_frame(segment.poses, decoded.poses, config.spec("pose")))
    frames = report.frame_count
    return ResultRow(
        video=Path(segment.video).name, segment=segment.index, start_frame=segment.start, frames=frames,
        method=report.method, point=point.label, main=point.main, bytes=report.total_bytes,
        bitrate_kbps=rounded(report.bitrate_kbps, "kbps"),
        size_ratio=rounded(report.total_bytes / reference_bytes, "share"),
        detection_rate=share_kept(survived),
        lost_frames=sum(1 for flags in survived if not all(flags)),
        lost_before_repair=report.lost_before_repair,
        map50=rounded(mean_average_precision(segment.detections, decoded.detections), "share"),
        psnr_y_db=rounded(luma_psnr(original_luma, report.decoded_luma), "db"),
        ms_ssim_y=rounded(luma_ms_ssim(original_luma, report.decoded_luma), "ssim"),
        seconds_per_frame=rounded(report.seconds_per_frame(), "seconds"),
        checks_per_frame=rounded(report.checks / frames, "per_frame"),
        detector_calls_per_frame=rounded(report.detector_calls / frames, "per_frame"),
        stream=report.path,
        recodes_per_frame=rounded(report.recodes / frames, "per_frame"),
        lost_targets=len(lost),
        lost_near_threshold=sum(headroom < NEAR_THRESHOLD for headroom in lost),
        leak_rate=None if privacy is None else rounded(privacy.leak_rate, "share"),
        leak_rate_to={} if privacy is None else {name: rounded(privacy.leak_rate_to(name), "share")
                                                 for name in privacy.thresholds},
        leak_rate_as_decoded=None if privacy is None else rounded(privacy.leak_rate_as_decoded, "share"),
        leak_rate_raw=None if privacy is None else rounded(privacy.leak_rate_raw, "share"),
        faces_recognisable=None if privacy is None else privacy.recognisable,
        faces_measurable=None if privacy is None else privacy.measurable,
        faces_measured_by={} if privacy is None else privacy.measured_by(),
        faces_too_small=None if privacy is None else privacy.too_small,
        person_detection_rate=None if privacy is None else rounded(privacy.person_detection_rate, "share"),
        person_targets=None if privacy is None else privacy.person_targets,
        concealer_leak_rate=(None if concealer_privacy is None
                             else rounded(concealer_privacy.leak_rate, "share")),
        concealer_faces_measurable=None if concealer_privacy is None else concealer_privacy.measurable,
        pose_accuracy=pose_accuracy,
        f1=rounded(task_f1(segment.detections, decoded.detections, spec), "share"),
        **_perceptual(segment, report, config),
    )


def _perceptual(segment: Segment, report: EncodeReport, config: EvalConfig) -> dict[str, float | None]:
    """The row's VMAF and VMAF-NEG when config.perceptual_metrics, else nothing."""
    if not config.perceptual_metrics:
        return {}
    assert report.decoded_rgb is not None
    scores = vmaf_scores(segment.frames, report.decoded_rgb)
    return {"vmaf": rounded(scores.vmaf, "vmaf"), "vmaf_neg": rounded(scores.vmaf_neg, "vmaf")}


def _decoded(report: EncodeReport, config: EvalConfig, detector: Detector,
             pose_model: Detector | None) -> Decoded:
    """The measured models' outputs on an encode's decoded frames: the planning model's come
    with the report (it checked every frame), the other model runs on the decoded frames."""
    def run(task: str, model: Detector) -> list[list[Detection]]:
        if task == config.task:
            return report.decoded_detections
        assert report.decoded_rgb is not None
        return detect_frames(model, report.decoded_rgb)

    poses = run("pose", pose_model) if config.measures_pose and pose_model is not None else None
    return Decoded(run("detect", detector), poses)


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
    """The face models privacy needs: `detector` finds the faces whose identity leak is
    measured, `attackers` (name -> face identity model) try to recognise them;
    `concealer` finds the faces METHOD+privacy conceals
    (another detector, so that the faces it misses are counted)."""

    detector: FaceDetector
    attackers: dict[str, FaceIdentity]
    concealer: FaceDetector


def run_eval(paths: Sequence[str | Path], config: EvalConfig, detector: Detector, out_dir: Path,
             progress: ProgressCallback | None = None, faces: FaceModels | None = None,
             pose_model: Detector | None = None,
             ) -> tuple[list[ResultRow], dict[tuple[str, str], Example]]:
    """Run every method and ladder point on every segment. Returns the rows and, for the
    report's example frames, the main point's EncodeReport of each video's first segment
    per (video, method). `detector` finds objects; `faces` is required when
    config.measures_privacy, `pose_model` when config.measures_pose. The planners keep the
    outputs of config.task's model."""
    methods = parse_methods(config.methods)
    if config.measures_privacy and faces is None:
        raise ValueError("privacy measurement needs the face models")
    if config.measures_pose and pose_model is None:
        raise ValueError("pose measurement needs the pose model")
    planning = pose_model if config.task == "pose" else detector
    assert planning is not None
    face_models = faces if config.measures_privacy else None
    preeditor = load_preeditor(config.preedit_model) if any(m.preedit for m in methods) else None
    streams = out_dir / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    rows: list[ResultRow] = []
    examples: dict[tuple[str, str], Example] = {}
    check_every_frame = Verification(enabled=True, every=1)
    judges = {name: load_detector(name) for name in config.measured_by}
    if config.perceptual_metrics:
        vmaf_binary()  # fetched and verified before the first encode
    for segment in segments(paths, config, detector, progress, face_models,
                            pose_model if config.measures_pose else None):
        cross = CrossCheck(judges, segment.frames, config.spec("detect"))
        original_luma = np.stack([luma_of(frame) for frame in segment.frames])
        name = f"{Path(segment.video).stem}_s{segment.index:03d}"
        planned = segment.poses if config.task == "pose" else segment.detections
        assert planned is not None
        known = Known(detections=planned)  # a privacy method finds its faces itself, on its own time
        window = len(segment.frames)
        reference_settings = PlanSettings(codec=config.codec, gop=config.gop, qp=30, targets=config.targets)
        reference = run_method("uniform", segment.frames, segment.fps, streams / f"{name}_reference.mp4",
                               planning, reference_settings, verify=check_every_frame, known=known,
                               window=window)
        for method in methods:
            edits = Edits(preeditor=preeditor if method.preedit else None,
                          preedit_detections=config.preedit_detections,
                          privacy=config.privacy if method.privacy else None,
                          face_detector=face_models.concealer if face_models else None)
            repair = config.repair_rounds if method.entry.repairable else 0
            for point in ladder(str(method), config):
                report = run_method(
                    method.planner, segment.frames, segment.fps,
                    streams / f"{name}_{method}_{point.label}.mp4", planning, point.settings,
                    config=point.config, edits=edits,
                    verify=Verification(every=1, repair_rounds=repair, steer_every=VERIFY_EVERY),
                    known=known, window=window, keep_frames=True,
                    progress=_prefixed(progress, f"{name} {point.label}"))
                decoded = _decoded(report, config, detector, pose_model)
                leakage = concealer_leakage = None
                if face_models is not None and report.decoded_rgb is not None:
                    leakage, concealer_leakage = (
                        privacy_report(segment.frames, report.decoded_rgb, face_detector=face_models.detector,
                                       attackers=face_models.attackers, detector=detector,
                                       spec=config.spec("detect"), faces=faces,
                                       original_detections=segment.detections,
                                       decoded_detections=decoded.detections)
                        for faces in (segment.faces, segment.concealed_faces))
                rows.append(cross.judge(measure(report, segment, point, reference.total_bytes, original_luma,
                                                config, decoded, leakage, concealer_leakage), report))
                if point.main and segment.index == 0:
                    examples[(Path(segment.video).name, str(method))] = (segment, report)
        for name in config.references:
            measured = _measure_reference(REFERENCES.entry(name), segment, config, planning, detector,
                                          pose_model, reference.total_bytes, original_luma, streams / name)
            rows.extend(cross.judge(row, report) for row, report in measured)
    if not rows:
        raise InputError("no segment to evaluate")
    return rows, examples


def _measure_reference(coding: Reference, segment: Segment, config: EvalConfig, planning: Detector,
                       detector: Detector, pose_model: Detector | None, reference_bytes: int,
                       original_luma: np.ndarray, prefix: Path) -> list[tuple[ResultRow, EncodeReport]]:
    """The rows (with their encodes) of a reference coding on one segment, one per point of its
    ladder (the main point only unless config.ladder); its streams go beside the methods'."""
    rows = []
    height, width = segment.frames.shape[1:3]
    for value in coding.points(config.ladder):
        label = f"{coding.knob}{value}"
        coded = coding.code(segment.frames, segment.fps, config.codec, config.gop, value)
        path = prefix.with_name(f"{Path(segment.video).stem}_s{segment.index:03d}_{prefix.name}_{label}.mp4")
        with atomic_output(path) as temporary:
            temporary.write_bytes(coded.stream)
        settings = PlanSettings(codec=config.codec, gop=config.gop, targets=config.targets)
        report = EncodeReport(path=str(path), codec=config.codec, width=width, height=height, fps=segment.fps,
                              method=coding.name, gop=config.gop, settings={coding.knob: value},
                              verified=True, frame_count=len(coded.rgb), total_bytes=coded.total_bytes,
                              encode_seconds=coded.seconds, decoded_rgb=coded.rgb, decoded_luma=coded.luma,
                              decoded_detections=detect_frames(planning, coded.rgb))
        point = LadderPoint(label, value == coding.main, settings)
        rows.append((measure(report, segment, point, reference_bytes, original_luma, config,
                             _decoded(report, config, detector, pose_model)), report))
    return rows


def task_f1(truth: Sequence[Sequence[Detection]], found: Sequence[Sequence[Detection]],
            spec: TargetSpec) -> float | None:
    """F1 at the operating score over the classes of interest (see vcm.eval.detection_f1)."""
    return f1_score([spec.of_interest(frame) for frame in truth],
                    [spec.of_interest(frame) for frame in found], min_score=spec.min_score)


class CrossCheck:
    """Judges every encode of one segment with other detectors than the planning one: each
    finds objects on the original frames once, and on every decoded clip; F1 as task_f1."""

    def __init__(self, judges: Mapping[str, Detector], frames: np.ndarray, spec: TargetSpec) -> None:
        self.judges, self.spec = judges, spec
        self.truth = {name: detect_frames(judge, frames) for name, judge in judges.items()}

    def judge(self, row: ResultRow, report: EncodeReport) -> ResultRow:
        """`row` with f1_by filled from the encode's decoded frames."""
        if self.judges:
            assert report.decoded_rgb is not None
            row.f1_by = {name: rounded(task_f1(self.truth[name], detect_frames(judge, report.decoded_rgb),
                                               self.spec), "share")
                         for name, judge in self.judges.items()}
        return row


@dataclass(frozen=True)
class EvalJob:
    """Videos to evaluate together (one Ray task evaluates one job)."""

    videos: tuple[str, ...]
    config: EvalConfig
    out_dir: Path


def evaluate_videos(job: EvalJob, progress: ProgressCallback | None = None
                    ) -> tuple[list[ResultRow], dict[tuple[str, str], Example]]:
    """run_eval with the models loaded here (so it runs as a task on any worker)."""
    pose_model = load_task_model("pose") if job.config.measures_pose else None
    faces = None
    if job.config.measures_privacy:
        from vcm.models.face_detectors import load_face_detector
        from vcm.models.face_identities import load_attackers

        faces = FaceModels(load_face_detector(job.config.leak_faces_with),
                           load_attackers(),
                           load_face_detector(job.config.conceal_faces_with))
    return run_eval(job.videos, job.config, load_detector(job.config.detector), job.out_dir, progress, faces,
                    pose_model)
