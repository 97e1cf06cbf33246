"""A frame a person can look at: the original, plain x265 and pre-edited + x265 at (about) equal
bytes, side by side, with what each encode scores.

The pre-edited encode is `uniform+preedit` at --qp (the detector's finds left unedited, as
`vcm encode --preedit` does); the plain one is `uniform` at the integer QP whose bytes come
closest to it. Both code the same --frames frames from --first of --clip (one GOP); the figure
shows the middle frame (a P-frame), cropped to at most 480x270 around the frame's centre.

Usage: .venv/bin/python bench/bench_preedit_frame.py CLIP --figure docs/figures/NAME.png
       [--model machines] [--first 0] [--frames 8] [--qp 34]
Prints a Markdown table: per encode its QP, bytes, PSNR-Y, VMAF, VMAF-NEG (libvmaf) and F1
(the detector on the decoded frames against the original's, at the task's operating score).
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vcm.codec import decode
from vcm.codec.qpmap import QP_MAX
from vcm.eval.runner import EvalConfig, task_f1
from vcm.eval.vmaf import vmaf_scores
from vcm.media import FrameSource, rgb_to_yuv420
from vcm.models import load_detector
from vcm.pipeline import Edits, Verification, run_method
from vcm.planners import PlanSettings
from vcm.preedit.network import DEFAULT_MODEL, load_preeditor

PANEL = (480, 270)  # the largest crop shown, pixels (width, height)
LABEL_HEIGHT = 18


def psnr_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR (dB) of the luma of (N, H, W, 3) uint8 RGB videos."""
    a = np.stack([rgb_to_yuv420(frame)[0] for frame in original]).astype(np.float64)
    b = np.stack([rgb_to_yuv420(frame)[0] for frame in decoded]).astype(np.float64)
    return float(10 * np.log10(255.0**2 / max(np.mean((a - b) ** 2), 1e-12)))


def crop(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    h, w = min(height, PANEL[1]), min(width, PANEL[0])
    top, left = (height - h) // 2, (width - w) // 2
    return frame[top:top + h, left:left + w]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--figure", type=Path, required=True, help="PNG to write")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"pre-editor ({DEFAULT_MODEL})")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--qp", type=int, default=34, help="QP of the pre-edited encode (34)")
    args = parser.parse_args()
    with FrameSource(args.clip, start=args.first, max_frames=args.frames) as source:
        frames = np.stack(list(source))
    detector = load_detector()
    spec = EvalConfig().spec("detect")
    truth = detector.detect(frames)
    editor = load_preeditor(args.model)

    def code(qp: int, edits: Edits, work: Path) -> tuple[int, np.ndarray]:
        out = work / f"qp{qp}-{'edited' if edits.preeditor else 'plain'}.mp4"
        report = run_method("uniform", frames, 25.0, out, detector, PlanSettings(qp=qp), edits=edits,
                            verify=Verification(enabled=False))
        return report.total_bytes, decode(out, read_qp=False).rgb

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        edited_bytes, edited = code(args.qp, Edits(preeditor=editor), work)
        candidates = range(max(args.qp - 8, 0), min(args.qp + 9, QP_MAX + 1))
        plain = {qp: code(qp, Edits(), work) for qp in candidates}
    plain_qp = min(plain, key=lambda qp: abs(plain[qp][0] - edited_bytes))
    encodes = {"original": (None, None, frames), f"plain x265, QP {plain_qp}": (plain_qp, *plain[plain_qp]),
               f"pre-edited ({args.model}) + x265, QP {args.qp}": (args.qp, edited_bytes, edited)}
    print(f"{args.clip.name}, frames {args.first}-{args.first + args.frames - 1}, HEVC, uniform QP\n")
    print("| encode | QP | bytes | PSNR-Y (dB) | VMAF | VMAF-NEG | F1 |")
    print("|---|---|---|---|---|---|---|")
    panels = []
    for name, (qp, size, video) in encodes.items():
        if qp is not None:
            scores = vmaf_scores(frames, video)
            f1 = task_f1(truth, detector.detect(video), spec)
            print(f"| {name} | {qp} | {size} | {psnr_y(frames, video):.2f} | {scores.vmaf:.2f} | "
                  f"{scores.vmaf_neg:.2f} | {'n/a' if f1 is None else f'{f1:.3f}'} |")
        picture = crop(video[len(video) // 2])
        panel = Image.new("RGB", (picture.shape[1], picture.shape[0] + LABEL_HEIGHT), "white")
        panel.paste(Image.fromarray(picture), (0, LABEL_HEIGHT))
        label = name if size is None else f"{name}: {size} B"
        ImageDraw.Draw(panel).text((4, 3), label, fill="black")
        panels.append(panel)
    width = sum(panel.width for panel in panels) + 8 * (len(panels) - 1)
    figure = Image.new("RGB", (width, panels[0].height), "white")
    left = 0
    for panel in panels:
        figure.paste(panel, (left, 0))
        left += panel.width + 8
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.figure, optimize=True)


if __name__ == "__main__":
    main()
