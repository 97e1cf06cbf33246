"""Motion vectors drawn over decoded pictures, for people to look at."""

import numpy as np
from PIL import Image, ImageDraw

from vcm.cdomain.reader import CompressedFrame
from vcm.codec.qpmap import BLOCK_SIZE

ARROW_SCALE = 3  # drawn length / true length of a vector: 1-2 px motions would be invisible
TYPE_COLOURS = {"I": (255, 225, 25), "P": (70, 240, 70), "B": (70, 200, 240)}


def draw_vectors(frame: CompressedFrame) -> np.ndarray:
    """(H, W, 3) uint8: the frame's RGB picture with one line per moving 16x16 block, from the
    block centre towards where its content moved (destination - source, drawn ARROW_SCALE times
    longer), a dot at the centre, and the picture type in the corner."""
    if frame.rgb is None:
        raise ValueError("draw_vectors needs a frame read with rgb='all'")
    image = Image.fromarray(frame.rgb)
    pen = ImageDraw.Draw(image)
    colour = TYPE_COLOURS[frame.picture_type]
    for row, col in zip(*np.nonzero(np.abs(frame.mv).sum(axis=2) > 0.25), strict=True):
        centre_x, centre_y = (col + 0.5) * BLOCK_SIZE, (row + 0.5) * BLOCK_SIZE
        move_x, move_y = -ARROW_SCALE * frame.mv[row, col]
        pen.line((centre_x, centre_y, centre_x + move_x, centre_y + move_y), fill=colour, width=1)
        pen.ellipse((centre_x - 1, centre_y - 1, centre_x + 1, centre_y + 1), fill=colour)
    pen.text((4, 2), f"{frame.index} {frame.picture_type}", fill=colour)
    return np.asarray(image)
