"""`vcm detect` and `vcm info`: what a detector finds in a video, what a coded file holds."""

import argparse
import contextlib
from pathlib import Path

from rich.table import Table

from vcm.atomic import check_output
from vcm.cli.options import (
    Subcommands,
    add_detector_option,
    add_source_options,
    number_in,
    open_source,
    write_json,
)
from vcm.errors import InputError
from vcm.interrupt import stop_on_signal
from vcm.progress import console, progress_bar


def add_parser(commands: Subcommands) -> None:
    detect = commands.add_parser("detect", help="run the detector on a video",
                                 description="Detect COCO objects with the chosen detector.")
    add_source_options(detect)
    add_detector_option(detect)
    detect.add_argument("--json", type=Path, help="write detections per frame to this JSON file")
    detect.add_argument("--threshold", type=number_in(0, 1), default=0.25, help="minimum score (0.25)")
    detect.add_argument("--draw", type=Path, metavar="OUT",
                        help="draw the boxes: into a video (OUT.mp4/.mkv/.mov, H.264) or, for any other "
                        "OUT, a folder of PNGs (frame_000000.png, ...)")
    detect.set_defaults(run=run_detect)

    info = commands.add_parser("info", help="describe an encoded file",
                               description="Codec, size, frames, picture types, bytes, bitrate.")
    info.add_argument("file")
    info.add_argument("--json", type=Path, help="also write the description as JSON")
    info.set_defaults(run=run_info)


def run_detect(args: argparse.Namespace) -> None:
    from vcm.media import windows
    from vcm.media.draw import open_drawing
    from vcm.models import load_detector
    from vcm.models.detector import DETECT_BATCH
    from vcm.streamjson import JsonListWriter

    if not 0 < args.threshold <= 1:
        raise InputError(f"--threshold must be in (0, 1], got {args.threshold}")
    if args.json:
        check_output(args.json)
    drawing = open_drawing(args.draw) if args.draw else None
    detector = load_detector(args.detector)
    detector.score_threshold = args.threshold
    counts: dict[str, int] = {}
    with open_source(args) as source, stop_on_signal(source.stop if source.live else None), \
            progress_bar() as progress, contextlib.ExitStack() as outputs:
        writer = outputs.enter_context(JsonListWriter(args.json, "frames", {
            "video": str(args.video), "detector": detector.name, "width": source.width,
            "height": source.height, "fps": source.fps})) if args.json else None
        sink = outputs.enter_context(drawing.open(source.fps)) if drawing else None
        task = progress.add_task(f"detect ({detector.name})", total=source.expected_frames)
        for _, chunk in windows(source, DETECT_BATCH):
            for frame, detections in zip(chunk, detector.detect(chunk), strict=True):
                for detection in detections:
                    counts[detection.class_name] = counts.get(detection.class_name, 0) + 1
                if writer is not None:
                    writer.add([d.to_dict() for d in detections])
                if sink is not None:
                    sink.write(frame, detections)
                progress.advance(task)
        if writer is not None:
            writer.finish()
        if sink is not None:
            sink.finish()
        frames = source.frames_read
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing"
    console.print(f"{frames} frames ({detector.name}): {summary}"
                  + (f"; boxes drawn into {args.draw}" if args.draw else ""))


def run_info(args: argparse.Namespace) -> None:
    from vcm.codec.stats import describe_stream

    if args.json:
        check_output(args.json)
    description = describe_stream(args.file)
    table = Table(show_header=False)
    for key, value in description.items():
        table.add_row(key, str(value))
    console.print(table)
    if args.json:
        write_json(args.json, description)
