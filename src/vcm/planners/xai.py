"""The reference method: detection-guided XAI search of per-block QP on the real codec.

Per frame: drop targets that even QP 10 loses (their score hovers at the threshold);
binary-search the largest uniform QP that keeps every remaining target; then raise
the unfrozen blocks one QP at a time. When a raise loses targets, rank 8x8 blocks
by (difference image x selective gradient of each lost target, each normalised to
sum 1, summed over the lost targets), restore 32x32
regions in that order until every target survives (grow), drop restored 8x8 blocks
in reverse order while every target still survives (shrink: bounded attempts, in
halving chunks so that a large restored set can shrink quickly), and freeze
the survivors one QP below. 8x8 decisions map to the codec's 16x16 blocks by the
minimum. Every candidate is judged by encoding it with the real codec as the final
stream codes it (an I-frame, or a P-frame predicted from the previous frame's
reconstruction), decoding it and running the detector.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vcm.models.detector import Detection
from vcm.planners.base import PlanContext, SearchPlanner
from vcm.planners.frame_qp import QP_FLOOR
from vcm.planners.registry import RateLadder, register_planner
from vcm.xai.importance import block_sums, difference_map, selective_gradient

ANALYSIS_BLOCK = 8
REGION_BLOCKS = 4  # a 32x32 grow region is 4x4 analysis blocks


@dataclass(frozen=True)
class XaiBudget:
    """Bounds on the search: shrink_steps drop attempts per round (chunks of restored blocks,
    least important first, halving after each refusal); max_checks
    codec round trips per frame before no new round starts (a started grow/shrink round
    finishes; the last map that kept every target is returned)."""

    shrink_steps: int = 6
    max_checks: int = 120


def to_coder_blocks(fine: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows8, cols8) 8x8 QPs -> (rows, cols) 16x16 QPs by the minimum of each 2x2 group."""
    padded = np.full((rows * 2, cols * 2), fine.max(), dtype=fine.dtype)
    padded[: fine.shape[0], : fine.shape[1]] = fine
    return padded.reshape(rows, 2, cols, 2).min(axis=(1, 3))


@register_planner("xai", summary="the reference search: per-block QP from difference x selective-backprop "
                  "importance, grow/shrink, freeze", config_type=XaiBudget,
                  ladder=RateLadder("keep_score", (0.7, 0.5, 0.3)), repairable=True, needs_targets=True)
class XaiPlanner(SearchPlanner):
    """Searches the QP map of single frames in coding order."""

    def __init__(self, context: PlanContext, budget: XaiBudget | None = None) -> None:
        super().__init__(context)
        self.detector, self.budget = context.detector, budget or XaiBudget()
        self.fine_shape = (-(-context.height // ANALYSIS_BLOCK), -(-context.width // ANALYSIS_BLOCK))
        self._start = 0
        self._search_reference: np.ndarray | None = None

    def _lost(self, frame: np.ndarray, fine: np.ndarray,
              targets: Sequence[Detection]) -> tuple[list[int], np.ndarray]:
        blocks = to_coder_blocks(fine, self.check.rows, self.check.cols)
        return self.check.lost(frame, blocks, targets, self._search_reference)

    def choose(self, frame: np.ndarray, targets: Sequence[Detection],
               reference: np.ndarray | None = None) -> np.ndarray:
        """(rows, cols) 16x16 block QPs for one (H, W, 3) frame, coded intra or (given the
        previous frame's reconstruction) as a P-frame."""
        max_qp = self.settings.max_qp
        rows, cols = self.check.rows, self.check.cols
        self._start = self.check.checks
        self._search_reference = reference
        targets = self.check.keepable(frame, targets, QP_FLOOR, reference) if targets else []
        if not targets:
            return np.full((rows, cols), max_qp)
        level = self.check.largest_uniform_qp(frame, targets, QP_FLOOR, max_qp, reference)
        fine = np.full(self.fine_shape, level)
        frozen = np.zeros(self.fine_shape, dtype=bool)
        gradients: dict[int, np.ndarray] = {}
        while level < max_qp and not frozen.all() and not self._over_budget():
            level, fine, failure = self._raise(frame, targets, fine, frozen, level)
            if failure is None:
                break
            lost, degraded = failure
            difference = difference_map(frame, degraded)
            importance = np.zeros(self.fine_shape)
            for index in lost:
                if index not in gradients:
                    gradients[index] = selective_gradient(self.detector, frame, targets[index])
                evidence = block_sums(difference * gradients[index], ANALYSIS_BLOCK)
                importance += evidence / max(evidence.sum(), 1e-12)
            raised = np.where(frozen, fine, level + 1)
            keep = self._causal_blocks(frame, targets, raised, level, frozen, importance)
            raised[keep] = level
            frozen |= keep
            fine = raised
            level += 1
        return to_coder_blocks(fine, rows, cols)

    def _over_budget(self) -> bool:
        return self.check.checks - self._start >= self.budget.max_checks

    def _raise(self, frame: np.ndarray, targets: Sequence[Detection], fine: np.ndarray,
               frozen: np.ndarray, level: int
               ) -> tuple[int, np.ndarray, tuple[list[int], np.ndarray] | None]:
        """Raise the unfrozen blocks as far as every target survives.

        Equivalent to raising one QP at a time until a target is lost (detection is
        monotone in QP here), found by galloping then bisecting. Returns the highest
        good level, its map, and (lost targets, decoded frame) at the level above, or
        None when max_qp was reached or the budget ran out.
        """
        max_qp = self.settings.max_qp
        good, failure, step, bad = level, None, 1, None
        while not self._over_budget():
            probe = min(good + step, max_qp)
            lost, degraded = self._lost(frame, np.where(frozen, fine, probe), targets)
            if lost:
                bad, failure = probe, (lost, degraded)
                break
            good, step = probe, step * 2
            if good == max_qp:
                return good, np.where(frozen, fine, good), None
        while bad is not None and bad - good > 1 and not self._over_budget():
            middle = (good + bad) // 2
            lost, degraded = self._lost(frame, np.where(frozen, fine, middle), targets)
            if lost:
                bad, failure = middle, (lost, degraded)
            else:
                good = middle
        if bad is None or bad - good > 1:
            failure = None
        return good, np.where(frozen, fine, good), failure

    def _causal_blocks(self, frame: np.ndarray, targets: Sequence[Detection], raised: np.ndarray,
                       level: int, frozen: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """Boolean (rows8, cols8) mask of unfrozen blocks that must stay at `level`."""
        regions = self._ranked_regions(frozen, importance)

        def restored(count: int) -> np.ndarray:
            mask = np.zeros_like(frozen)
            for region in regions[:count]:
                mask |= region
            return mask

        def ok(mask: np.ndarray) -> bool:
            return not self._lost(frame, np.where(mask, level, raised), targets)[0]

        # grow: smallest number of top regions that restores every target (exponential,
        # then binary search); restoring all of them is the previous, known-good map.
        low, high = 0, 1
        while high < len(regions) and not ok(restored(high)):
            low, high = high, min(high * 2, len(regions))
        while high - low > 1:
            middle = (low + high) // 2
            if ok(restored(middle)):
                high = middle
            else:
                low = middle
        keep = restored(high)
        # shrink: drop the least important restored blocks while every target survives,
        # in chunks that start at half the restored set and halve after each refusal
        order = [tuple(index) for index in np.argwhere(keep)]
        order.sort(key=lambda index: importance[index])
        chunk = max(len(order) // 2, 1)
        position = 0
        for _ in range(self.budget.shrink_steps):
            if position >= len(order):
                break
            dropped = order[position : position + chunk]
            for index in dropped:
                keep[index] = False
            if ok(keep):
                position += len(dropped)
            else:
                for index in dropped:
                    keep[index] = True
                if chunk == 1:
                    position += 1
                chunk = max(chunk // 2, 1)
        return keep

    def _ranked_regions(self, frozen: np.ndarray, importance: np.ndarray) -> list[np.ndarray]:
        """Masks of the unfrozen blocks of each 32x32 region, most important first."""
        regions = []
        rows8, cols8 = frozen.shape
        for top in range(0, rows8, REGION_BLOCKS):
            for left in range(0, cols8, REGION_BLOCKS):
                mask = np.zeros_like(frozen)
                mask[top : top + REGION_BLOCKS, left : left + REGION_BLOCKS] = True
                mask &= ~frozen
                if mask.any():
                    regions.append((float(importance[mask].sum()), mask))
        regions.sort(key=lambda item: -item[0])
        return [mask for _, mask in regions]
