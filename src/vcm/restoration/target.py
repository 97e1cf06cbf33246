"""A segment's restoration layer coded to a quality target: the restored segment reaches the
luma PSNR of a uniform-QP encode of the same frames (the human-quality stream a user would
otherwise store), re-coded finer where it falls short and cheaper where it has room."""

import math
from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import QP_MAX, QP_MIN, grid_shape
from vcm.errors import InputError
from vcm.restoration.layer import DEFAULT_METHOD, LUMA_WEIGHTS, encode_layer, restore_frames
from vcm.restoration.registry import METHODS
from vcm.restoration.stream import decode_stream, encode_stream

DB_PER_QP = 0.4  # about how much restored PSNR one layer QP step moves (a first jump, then steps of 1)
MAX_TRIES = 5  # layer encodes per segment and method at most
CANDIDATE_METHODS = ("complement", "residual")
PROBE_EVERY = 8  # segments between two searches of every candidate method


@dataclass(frozen=True)
class QualityTarget:
    """reference_qp: the uniform QP whose encode of the segment sets the PSNR to reach;
    tolerance_db: how far below that PSNR the restored segment may stay."""

    reference_qp: int = 27
    tolerance_db: float = 0.3

    def __post_init__(self) -> None:
        if not QP_MIN <= self.reference_qp <= QP_MAX:
            raise InputError(f"the restoration's reference QP must be in {QP_MIN}..{QP_MAX}, "
                             f"got {self.reference_qp}")
        if not (math.isfinite(self.tolerance_db) and 0 <= self.tolerance_db <= 10):
            raise InputError(f"the restoration's tolerance must be 0..10 dB, got {self.tolerance_db}")


@dataclass(frozen=True)
class TargetedLayer:
    """The layer chosen, its method and quality (layer QP), the reference encode's and the
    restored segment's luma PSNR (dB; NaN when not checked), layer encodes made, and whether
    the target was met (when not, the finest layer tried is kept; never for an unchecked layer)."""

    layer: bytes
    method: str
    quality: int
    reference_db: float
    restored_db: float
    tries: int
    met: bool


def luma_psnr(originals: np.ndarray, frames: "np.ndarray | list[np.ndarray]") -> float:
    """Luma PSNR (dB, pooled squared error) of (n, H, W, 3) uint8 RGB frames against the
    originals, luma as the encoder sees it (BT.601 limited range, unrounded)."""
    total, count = 0.0, 0
    for original, frame in zip(originals, frames, strict=True):
        difference = (original.astype(np.float32) - frame) @ LUMA_WEIGHTS
        total += float(np.sum(difference * difference, dtype=np.float64))
        count += difference.size
    return math.inf if total == 0 else 10 * math.log10(255.0**2 * count / total)


def reference_psnr(originals: np.ndarray, fps: float, qp: int, codec: str = "hevc") -> float:
    """Luma PSNR of the frames coded at uniform `qp` as one GOP (I then P frames), as a
    camera storing a human-quality stream would code them."""
    count, height, width = originals.shape[:3]
    blocks = np.full(grid_shape(width, height), qp, np.int16)
    video = encode_stream(((frame, blocks) for frame in originals), width=width, height=height, count=count,
                          codec=codec, fps=fps)
    return luma_psnr(originals, list(decode_stream(video, codec, width, height)))  # type: ignore[arg-type]


def encode_layer_to_target(originals: np.ndarray, machine_qp: np.ndarray, machine_decoded: np.ndarray, *,
                           fps: float, target: QualityTarget = QualityTarget(), method: str = DEFAULT_METHOD,
                           codec: str = "hevc", start: int | None = None,
                           reference_db: float | None = None) -> TargetedLayer:
    """The cheapest layer (highest layer QP) found in at most MAX_TRIES encodes whose restored
    segment is within target.tolerance_db of a uniform target.reference_qp encode's luma
    PSNR (reference_db, measured here when not given); the search starts at `start` (default:
    the method's default quality), jumps by the shortfall over DB_PER_QP, bisects, or steps
    one QP cheaper while there is room. Arrays as for encode_layer (machine_decoded required:
    the restore starts from it)."""
    if reference_db is None:
        reference_db = reference_psnr(originals, fps, target.reference_qp, codec)
    floor = reference_db - target.tolerance_db
    tried: dict[int, tuple[bytes, float]] = {}
    quality: int | None = METHODS[method].default_quality if start is None else int(start)
    while quality is not None and len(tried) < MAX_TRIES:
        layer = encode_layer(originals, machine_qp, fps=fps, method=method, quality=quality,
                             machine_decoded=machine_decoded, codec=codec)
        tried[quality] = (layer, luma_psnr(originals, list(restore_frames(machine_decoded, layer))))
        quality = _next_quality(tried, floor)
    passing = [q for q, (_, db) in tried.items() if db >= floor]
    chosen = max(passing) if passing else min(tried)  # short of the target: keep the finest tried
    layer, restored = tried[chosen]
    return TargetedLayer(layer, method, chosen, reference_db, restored, len(tried), bool(passing))


class LayerCoder:
    """Codes the successive segments of one camera to a QualityTarget with whichever of
    CANDIDATE_METHODS gives the smaller layer: both are searched on the first segment and
    every probe_every-th after, the cheaper one alone in between; each search starts at the
    quality that method last chose (a fixed camera's segments are alike, so one or two
    encodes usually settle it). Where the machine stream keeps most blocks near the
    reference QP, `complement` cannot refine them short of re-coding the picture much finer
    and `residual` is the cheaper; where it codes most blocks away, `complement` is."""

    def __init__(self, target: QualityTarget = QualityTarget(), codec: str = "hevc",
                 probe_every: int = PROBE_EVERY) -> None:
        self.target, self.codec, self.probe_every = target, codec, probe_every
        self.last_quality: dict[str, int] = {}
        self.method = CANDIDATE_METHODS[0]
        self.segments = 0

    def encode(self, originals: np.ndarray, machine_qp: np.ndarray, machine_decoded: np.ndarray, *,
               fps: float, search: bool = True) -> TargetedLayer:
        """The segment's layer (see encode_layer_to_target); with search False (a camera
        falling behind real time), one encode at the quality the camera's last search chose,
        unchecked (the first segment is always searched)."""
        if not search and self.method in self.last_quality:
            quality = self.last_quality[self.method]
            layer = encode_layer(originals, machine_qp, fps=fps, method=self.method, quality=quality,
                                 machine_decoded=machine_decoded, codec=self.codec)
            return TargetedLayer(layer, self.method, quality, math.nan, math.nan, 1, False)
        reference_db = reference_psnr(originals, fps, self.target.reference_qp, self.codec)
        probing = self.segments % self.probe_every == 0
        self.segments += 1
        results = {}
        for method in CANDIDATE_METHODS if probing else (self.method,):
            results[method] = encode_layer_to_target(
                originals, machine_qp, machine_decoded, fps=fps, target=self.target, method=method,
                codec=self.codec, start=self.last_quality.get(method), reference_db=reference_db)
            self.last_quality[method] = results[method].quality
        # met first, then fewest bytes (short of the target: the closest)
        self.method = min(results, key=lambda m: (not results[m].met, len(results[m].layer) if results[m].met
                                                  else -results[m].restored_db))
        return results[self.method]


def _next_quality(tried: dict[int, tuple[bytes, float]], floor: float) -> int | None:
    """The next layer QP to try, or None when the search is done: below the floor and nothing
    passed, jump finer by the shortfall; between a pass and a failure, bisect; above the
    floor with room, one step cheaper."""
    passing = [q for q, (_, db) in tried.items() if db >= floor]
    failing = [q for q, (_, db) in tried.items() if db < floor]
    if not passing:
        finest = min(failing)
        shortfall = floor - tried[finest][1]
        step = max(1, math.ceil(shortfall / DB_PER_QP))
        return max(QP_MIN, finest - step) if finest > QP_MIN else None
    best = max(passing)
    above = [q for q in failing if q > best]
    if above:
        gap = min(above) - best
        return best + gap // 2 if gap > 1 else None
    room = tried[best][1] - floor >= DB_PER_QP / 2
    return best + 1 if room and best < QP_MAX else None
