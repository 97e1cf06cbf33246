"""The reference method, made to earn its cost: detection-guided XAI search of per-block QP,
verified on the final stream.

Per frame, in coding order:

1. Canvas (what baseline B teaches): each target keeps its box plus `context_px` of
   context (doubled while the detector misses a new target on the painted, uncoded
   canvas); every block no target keeps is painted black and coded at max QP.
2. Importance (the seed's): |canvas - canvas coded at max QP| x |d sum log score / d pixel|
   (one backward pass for all targets), summed per 16x16 block. Within each target's
   region the blocks are ranked by importance; a block's QP is the target's level plus
   `spread` times the share of the region's importance held by more important blocks.
3. Levels: one QP level per target, warm-started from the target it continues in the
   previous frame (IoU tracking; new targets start at `start_qp`). All targets are searched
   at once: each round codes the current levels and the levels raised by `step` (two
   candidates, one batched detector pass); a target that survives the raise keeps it, a
   target lost at its current level steps down; the step halves every round. Raising stops
   when it saves less than `min_saving` of the frame's bytes. Candidates are coded as the
   stream codes them: P-frames predicted from the true previous reconstruction (check
   'p-frame', the default) or alone as I-frames (check 'intra').
4. Verification: the chosen map is coded in a StreamSession, which reproduces the final
   stream exactly; a target lost there steps down, by twice as much each time (and gets
   more context if the painted, uncoded canvas already loses it), and the frame is coded
   again (its GOP replayed), up to `retries` times. What the search verifies is what the
   decoder gets.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import BLOCK_SIZE, QPMap, block_span
from vcm.codec.session import StreamSession
from vcm.models.detector import Detection
from vcm.planners.base import CodecCheck, FrameInput, FramePlan, PlanContext
from vcm.planners.frame_qp import QP_FLOOR
from vcm.planners.registry import RateLadder, register_planner
from vcm.tasks.targets import best_match, survives
from vcm.xai.importance import block_sums, difference_map, selective_gradient

TRACK_IOU = 0.3


@dataclass(frozen=True)
class XaiConfig:
    """start_qp: level of a target seen for the first time; step: first QP step of every
    target's search (halved each round); rounds: search rounds per frame; context_px:
    context kept around each box (pixels; beyond it the frame is painted); spread: QP added
    to a region's least important blocks; min_saving: stop raising when a raise saves less
    than this share of the frame's bytes; retries: re-codes of a frame whose final stream
    lost a target."""

    start_qp: int = 30
    step: int = 4
    rounds: int = 3
    context_px: int = 64
    spread: int = 12
    min_saving: float = 0.01
    retries: int = 3

    def __post_init__(self) -> None:
        if self.context_px < 1:  # the context doubles while a target is missed: 0 would never grow
            raise ValueError(f"context_px must be at least 1, got {self.context_px}")
        if self.step < 1 or self.rounds < 1 or self.retries < 0:
            raise ValueError(f"step and rounds must be at least 1 and retries at least 0: {self}")


@dataclass(frozen=True)
class _Region:
    """A target's blocks: `mask` (rows, cols) bool and `offset` (rows, cols) QP above its level."""

    mask: np.ndarray
    offset: np.ndarray


def paint_outside(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(H, W, 3) frame black outside the 16x16 blocks set in `keep` (rows, cols)."""
    height, width = frame.shape[:2]
    pixels = np.repeat(np.repeat(keep, BLOCK_SIZE, axis=0), BLOCK_SIZE, axis=1)[:height, :width]
    return np.where(pixels[..., None], frame, 0).astype(np.uint8)


def importance_offsets(importance: np.ndarray, mask: np.ndarray, spread: int) -> np.ndarray:
    """(rows, cols) integer QP offsets over `mask`: 0 for the most important block, rising to
    `spread` with the share of the region's importance held by more important blocks."""
    offset = np.zeros(mask.shape, dtype=np.int16)
    values = importance[mask]
    order = np.argsort(-values, kind="stable")
    total = max(float(values.sum()), 1e-12)
    before = np.concatenate([[0.0], np.cumsum(values[order])[:-1]]) / total
    shares = np.empty_like(before)
    shares[order] = before
    offset[mask] = np.rint(spread * shares).astype(np.int16)
    return offset


@register_planner("xai", summary="the reference search: painted context, per-target QP levels searched "
                  "on the codec, shaped by difference x selective-backprop importance, verified on the "
                  "final stream", config_type=XaiConfig,
                  ladder=RateLadder("keep_score", (0.7, 0.6, 0.5)), needs_targets=True)
class XaiPlanner:
    """Searches each frame's map in coding order, verified on a StreamSession."""

    def __init__(self, context: PlanContext, config: XaiConfig | None = None) -> None:
        settings = context.settings
        if settings.check not in ("intra", "p-frame"):
            raise ValueError(f"check must be 'intra' or 'p-frame', got {settings.check!r}")
        self.settings, self.config = settings, config or XaiConfig()
        self.detector = context.detector
        self.check = CodecCheck(context.detector, context.width, context.height, settings)
        self.rows, self.cols = self.check.rows, self.check.cols
        self.session = StreamSession(context.width, context.height, settings.codec, settings.gop)
        self._reference: np.ndarray | None = None
        self._previous: list[tuple[Detection, int, int]] = []  # target, level, context

    def plan(self, frame: FrameInput) -> FramePlan:
        checks, calls = self.check.checks, self.check.detector_calls
        targets = list(frame.targets)
        levels, contexts, fresh = self._warm_start(targets)
        seen = any(fresh)
        if seen:
            contexts = self._widen_until_seen(frame.rgb, targets, contexts)
        canvas = self._canvas(frame.rgb, targets, contexts)
        reference = None if self.session.next_is_intra or self.settings.check == "intra" else self._reference
        keepable = [True] * len(targets)
        importance = self._importance(canvas, targets) if targets else np.zeros((self.rows, self.cols))
        regions = self._regions(targets, contexts, importance)
        if targets:
            levels, keepable = self._search(canvas, targets, regions, levels, reference)
        blocks = self._compose(regions, levels)
        coded = self.session.code(canvas, blocks)
        recodes = 0
        for attempt in range(self.config.retries + 1):
            if not any(keepable):
                break
            found = self.detector.detect(coded.rgb[None])[0]
            self.check.detector_calls += 1
            lost = [i for i, t in enumerate(targets)
                    if keepable[i] and not survives(t, found, self.settings.targets)]
            if not lost or attempt == self.config.retries:
                break
            for index in lost:  # steps that double: -step, -2 step, -4 step...
                levels[index] = max(levels[index] - self.config.step * 2**attempt, QP_FLOOR)
            if not seen:  # the painting may be what lost it
                contexts, seen = self._widen_until_seen(frame.rgb, targets, contexts), True
            canvas = self._canvas(frame.rgb, targets, contexts)
            regions = self._regions(targets, contexts, importance)
            blocks = self._compose(regions, levels)
            coded = self.session.recode(canvas, blocks)
            recodes += 1
        self._reference = coded.rgb
        self._previous = list(zip(targets, levels, contexts, strict=True))
        return FramePlan(canvas, QPMap.from_blocks(blocks), self.check.checks - checks,
                         self.check.detector_calls - calls, recodes=recodes)

    def _region_mask(self, target: Detection, context: int) -> np.ndarray:
        mask = np.zeros((self.rows, self.cols), dtype=bool)
        mask[block_span(target.box, context, self.rows, self.cols)] = True
        return mask

    def _canvas(self, rgb: np.ndarray, targets: Sequence[Detection], contexts: Sequence[int]) -> np.ndarray:
        keep = np.zeros((self.rows, self.cols), dtype=bool)
        for target, context in zip(targets, contexts, strict=True):
            keep |= self._region_mask(target, context)
        return paint_outside(rgb, keep)

    def _regions(self, targets: Sequence[Detection], contexts: Sequence[int],
                 importance: np.ndarray) -> list[_Region]:
        masks = [self._region_mask(t, c) for t, c in zip(targets, contexts, strict=True)]
        return [_Region(mask, importance_offsets(importance, mask, self.config.spread)) for mask in masks]

    def _warm_start(self, targets: Sequence[Detection]) -> tuple[list[int], list[int], list[bool]]:
        """Per target: level and context of the previous frame's target it continues (else
        start_qp and context_px), and whether it is new."""
        earlier = [t for t, _, _ in self._previous]
        levels, contexts, fresh = [], [], []
        for target in targets:
            match = best_match(target, earlier, TRACK_IOU)
            state = next(((lv, cx) for t, lv, cx in self._previous if t is match), None)
            levels.append(state[0] if state else self.config.start_qp)
            contexts.append(state[1] if state else self.config.context_px)
            fresh.append(state is None)
        return levels, contexts, fresh

    def _widen_until_seen(self, rgb: np.ndarray, targets: Sequence[Detection],
                          contexts: list[int]) -> list[int]:
        """Double the context of targets the detector misses on the painted (uncoded) canvas,
        until it finds them or the context covers the frame."""
        whole = max(self.rows, self.cols) * BLOCK_SIZE
        while True:
            found = self.detector.detect(self._canvas(rgb, targets, contexts)[None])[0]
            self.check.detector_calls += 1
            missed = [i for i, t in enumerate(targets)
                      if contexts[i] < whole and not survives(t, found, self.settings.targets)]
            if not missed:
                return contexts
            for index in missed:
                contexts[index] = min(contexts[index] * 2, whole)

    def _importance(self, canvas: np.ndarray, targets: Sequence[Detection]) -> np.ndarray:
        """(rows, cols) difference x selective gradient, summed per block."""
        degraded = self.check.roundtrip.run(canvas, np.full((self.rows, self.cols), self.settings.max_qp))
        gradient = selective_gradient(self.detector, canvas, targets)
        sums = block_sums(difference_map(canvas, degraded) * gradient, BLOCK_SIZE)
        return sums[: self.rows, : self.cols]

    def _compose(self, regions: Sequence[_Region], levels: Sequence[int]) -> np.ndarray:
        """(rows, cols) block QPs: each region at its level + offsets (the lowest where regions
        overlap), max QP elsewhere."""
        max_qp = self.settings.max_qp
        blocks = np.full((self.rows, self.cols), max_qp, dtype=np.int16)
        for region, level in zip(regions, levels, strict=True):
            wanted = np.minimum(level + region.offset, max_qp)
            blocks[region.mask] = np.minimum(blocks[region.mask], wanted[region.mask])
        return blocks

    def _judge(self, canvas: np.ndarray, targets: Sequence[Detection], maps: Sequence[np.ndarray],
               reference: np.ndarray | None) -> list[tuple[set[int], int]]:
        """Per map, (indices of targets lost, coded bytes), one batched detector pass."""
        decoded, sizes = [], []
        for blocks in maps:
            decoded.append(self.check.roundtrip.run(canvas, blocks, reference))
            sizes.append(self.check.roundtrip.last_bytes)
        found = self.detector.detect(np.stack(decoded))
        self.check.detector_calls += len(maps)
        return [({i for i, t in enumerate(targets) if not survives(t, f, self.settings.targets,
                                                                     self.settings.safety)}, size)
                for f, size in zip(found, sizes, strict=True)]

    def _search(self, canvas: np.ndarray, targets: Sequence[Detection], regions: Sequence[_Region],
                levels: list[int], reference: np.ndarray | None) -> tuple[list[int], list[bool]]:
        """(levels, keepable): every target's level after the rounds, and whether it survived
        anywhere (a target lost even at QP_FLOOR is not chased)."""
        max_qp, step = self.settings.max_qp, self.config.step
        keepable = [True] * len(targets)
        known: dict[tuple[int, ...], tuple[set[int], int]] = {}
        for _ in range(self.config.rounds):
            base = tuple(levels)
            raised = tuple(min(level + step, max_qp) for level in levels)
            fresh = [c for c in dict.fromkeys((base, raised)) if c not in known]
            if fresh:
                verdicts = self._judge(canvas, targets, [self._compose(regions, c) for c in fresh], reference)
                known.update(zip(fresh, verdicts, strict=True))
            (lost_base, bytes_base), (lost_raised, bytes_raised) = known[base], known[raised]
            for index in range(len(targets)):
                if index not in lost_raised:
                    levels[index] = raised[index]
                elif index in lost_base and base[index] <= QP_FLOOR:
                    keepable[index] = False  # its score hovers at the threshold: not chased
                    levels[index] = self.config.start_qp
                elif index in lost_base and keepable[index]:
                    levels[index] = max(base[index] - step, QP_FLOOR)
            if not lost_base and bytes_raised > (1 - self.config.min_saving) * bytes_base:
                break
            step = max(step // 2, 1)
        return levels, keepable
