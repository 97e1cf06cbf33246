"""The simplest task-aware map: detected boxes (plus a margin) fine, the rest coarse."""

from collections.abc import Sequence

import numpy as np

from vcm.codec.qpmap import BLOCK_SIZE, QPMap, grid_shape
from vcm.models.detector import Detection


def box_qp_map(detections: Sequence[Detection], width: int, height: int, *, roi_qp: int = 30,
               background_qp: int = 42, margin: int = 16) -> QPMap:
    """QPMap with roi_qp on every 16x16 block touching a box grown by `margin` pixels,
    background_qp elsewhere (the whole frame when there are no detections)."""
    rows, cols = grid_shape(width, height)
    blocks = np.full((rows, cols), background_qp, dtype=np.int16)
    for detection in detections:
        x1, y1, x2, y2 = detection.box
        col0 = max(int((x1 - margin) // BLOCK_SIZE), 0)
        row0 = max(int((y1 - margin) // BLOCK_SIZE), 0)
        col1 = min(int(np.ceil((x2 + margin) / BLOCK_SIZE)), cols)
        row1 = min(int(np.ceil((y2 + margin) / BLOCK_SIZE)), rows)
        blocks[row0:row1, col0:col1] = roi_qp
    return QPMap(base=background_qp, blocks=blocks)
