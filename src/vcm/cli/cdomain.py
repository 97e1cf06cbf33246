"""`vcm cdomain`: what an H.264 stream carries per frame (types, motion vectors, residuals, QPs)."""

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vcm.atomic import atomic_output, check_output, check_output_folder
from vcm.cli.options import Subcommands
from vcm.errors import InputError
from vcm.progress import console, progress_bar

if TYPE_CHECKING:

    from vcm.media.draw import Drawing



def add_parser(commands: Subcommands) -> None:
    cdomain = commands.add_parser(
        "cdomain", help="read picture types and motion vectors of an H.264 stream",
        description="Write what the compressed stream carries, per frame, to an .npz: types (N,) "
        "'I'/'P'/'B'; mv (N, ceil(H/16), ceil(W/16), 2) float32 pixels, each block's (source - "
        "destination) position in its reference; residual_energy (N, ceil(H/16), ceil(W/16)) mean "
        "squared luma residual against the motion-compensated previous picture; qp (N, ceil(H/16), "
        "ceil(W/16)) macroblock QPs. HEVC streams carry no exported vectors.")
    cdomain.add_argument("video", type=Path, help="an H.264 (or MPEG-2/4) video")
    cdomain.add_argument("--out", type=Path, required=True, help="the .npz to write")
    cdomain.add_argument("--png", type=Path, help="also draw the vectors over the frames into PNGs in this "
                         "folder (lines 3x the true length)")
    cdomain.set_defaults(run=run_cdomain)


def run_cdomain(args: argparse.Namespace) -> None:
    from vcm.cdomain import read_compressed
    from vcm.cdomain.draw import draw_vectors

    check_output(args.out)
    drawing = _png_drawing(args.png)
    types, vectors, energies, qps = [], [], [], []
    with progress_bar() as progress, drawing.open(fps=1.0) if drawing else contextlib.nullcontext() as sink:
        task = progress.add_task(f"read {args.video.name}", total=None)
        for frame in read_compressed(args.video, rgb="all" if drawing else "none"):
            types.append(frame.picture_type)
            vectors.append(frame.mv)
            energies.append(frame.residual_energy)
            qps.append(frame.qp)
            if sink is not None:
                sink.write(draw_vectors(frame), [])
            progress.advance(task)
        if not types:
            raise InputError(f"{args.video} has no frames")
    with atomic_output(args.out) as temporary, temporary.open("wb") as handle:
        np.savez_compressed(handle, types=np.array(types), mv=np.stack(vectors),
                            residual_energy=np.stack(energies), qp=np.stack(qps))
    moving = float(np.mean([np.abs(v).max() > 0 for v in vectors]))
    console.print(f"{args.out}: {len(types)} frames ({types.count('I')} I, {types.count('P')} P, "
                  f"{types.count('B')} B), {moving:.0%} with motion vectors"
                  + (f"; drawings in {args.png}" if drawing else ""))


def _png_drawing(folder: Path | None) -> "Drawing | None":
    """A PNG-folder Drawing for --png (refused if the name is a video file's), or None."""
    from vcm.media.draw import Drawing

    if folder is None:
        return None
    drawing = Drawing(folder)
    if drawing.is_video:
        raise InputError(f"--png takes a folder, not {folder.name}")
    check_output_folder(folder)
    return drawing
