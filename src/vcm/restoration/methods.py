"""The restoration methods: what a segment's layer stream codes, frame by frame.

Every layer stream is one GOP: an I-frame, then P-frames. Its quality q is the QP of
its P-frames; its I-frame is coded `intra_drop` QP finer, because on a fixed camera
most of the picture is static and every later frame inherits the I-frame's blocks
(on the validation part of the sample a stream coded so costs 0.78x the bytes of one
coded at one QP everywhere at the same PSNR; docs/benchmarks.md).
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vcm.codec.qpmap import BLOCK_SIZE, QP_MAX, QP_MIN
from vcm.restoration.registry import ADD, ALL, BEST, SELECT, Segment, register_method


@dataclass(frozen=True)
class LayerConfig:
    """intra_drop: the layer's I-frame is coded at quality - intra_drop."""

    intra_drop: int = 9

    def frame_qp(self, quality: int, index: int) -> int:
        """The layer QP of frame `index` of a segment (frame 0 is the I-frame)."""
        return int(np.clip(quality - self.intra_drop if index == 0 else quality, QP_MIN, QP_MAX))


def blocks_to_pixels(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """A (rows, cols) block array spread over the (height, width) pixels it covers."""
    return np.repeat(np.repeat(blocks, BLOCK_SIZE, 0), BLOCK_SIZE, 1)[:height, :width]


@register_method("simulcast", summary="an independent human-quality stream beside the machine stream; "
                 "the restore ignores the machine frames", config_type=LayerConfig, combine=SELECT,
                 selection=ALL, default_quality=31)
class Simulcast:
    def __init__(self, config: LayerConfig) -> None:
        self.config = config

    def layer_inputs(self, segment: Segment, quality: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows, cols = segment.machine_qp.shape[1:]
        for index, original in enumerate(segment.originals):
            yield original, np.full((rows, cols), self.config.frame_qp(quality, index), np.int16)


@register_method("residual", summary="original - decoded machine frame + 128, coded as a picture; the "
                 "restore adds it back on the blocks where that is closer to the original",
                 config_type=LayerConfig, combine=ADD, selection=BEST, default_quality=31,
                 needs_decoded=True)
class Residual:
    def __init__(self, config: LayerConfig) -> None:
        self.config = config

    def layer_inputs(self, segment: Segment, quality: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        assert segment.machine_decoded is not None
        rows, cols = segment.machine_qp.shape[1:]
        for index, (original, machine) in enumerate(zip(segment.originals, segment.machine_decoded,
                                                        strict=True)):
            residual = np.clip(original.astype(np.int16) - machine + 128, 0, 255).astype(np.uint8)
            yield residual, np.full((rows, cols), self.config.frame_qp(quality, index), np.int16)


@dataclass(frozen=True)
class ComplementConfig(LayerConfig):
    """keep_margin: after the I-frame, a block is coded only where the machine stream's
    QP is above quality + keep_margin (elsewhere the layer holds the block still, which
    costs nothing, and the restore takes it from the machine frame or from the layer's
    held picture, whichever the encoder measured closer to the original);
    keep_margin_blind: the same when the encoder has no decoded machine frames and the
    restore picks blocks by QP alone."""

    keep_margin: int = 7
    keep_margin_blind: int = 5


@register_method("complement", summary="the original coded again only where the machine stream is "
                 "coarse (the rest held still, so skipped); each block restored from whichever source "
                 "is closer to the original", config_type=ComplementConfig, combine=SELECT,
                 selection=BEST, default_quality=31)
class Complement:
    def __init__(self, config: ComplementConfig) -> None:
        self.config = config

    def layer_inputs(self, segment: Segment, quality: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        margin = self.config.keep_margin_blind if segment.machine_decoded is None else self.config.keep_margin
        height, width = segment.originals.shape[1:3]
        held: np.ndarray | None = None
        for index, (original, machine_qp) in enumerate(zip(segment.originals, segment.machine_qp,
                                                           strict=True)):
            qp = self.config.frame_qp(quality, index)
            if held is None:
                held = original.copy()
                yield held, np.full(machine_qp.shape, qp, np.int16)
                continue
            coded = machine_qp > quality + margin
            held = np.where(blocks_to_pixels(coded, height, width)[..., None], original, held)
            yield held, np.where(coded, qp, QP_MAX).astype(np.int16)
