"""`vcm reanalyse`: run the detector again over stored machine streams (e.g. a new model,
or a class the edge did not look for), one Ray task per segment."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from vcm.api.client import Client
from vcm.api.contract import MACHINE, DetectionRecord
from vcm.api.playback import machine_frames
from vcm.models.detectors import DEFAULT_DETECTOR


@dataclass(frozen=True)
class SegmentJob:
    """What a task needs to fetch and analyse one segment (picklable)."""

    server: str
    token: str
    camera: str
    seq: int
    start: float
    fps: float
    every: int
    min_score: float
    detector: str = DEFAULT_DETECTOR


def analyse_segment(job: SegmentJob) -> dict[str, Any]:
    """Detections on every `every`-th decoded frame of one stored machine layer: per class
    the number of detections and the frame times where it was seen, and every detection as
    the service stores it (DetectionRecord dicts)."""
    from vcm.models import load_detector

    with Client(job.server, job.token) as client:
        data = client.layer(job.camera, job.seq, MACHINE)
    detector = load_detector(job.detector)
    counts: Counter[str] = Counter()
    times: dict[str, list[float]] = {}
    records: list[dict[str, object]] = []
    frames = 0
    for index, rgb in enumerate(machine_frames(data)):
        frames += 1
        if index % job.every:
            continue
        for found in detector.detect(rgb[None])[0]:
            if found.score < job.min_score:
                continue
            counts[found.class_name] += 1
            seen = times.setdefault(found.class_name, [])
            moment = round(job.start + index / job.fps, 3)
            records.append(DetectionRecord.of(index, job.start + index / job.fps, found).to_dict())
            if not seen or seen[-1] != moment:
                seen.append(moment)
    return {"camera": job.camera, "seq": job.seq, "start": job.start, "frames": frames,
            "analysed_frames": len(range(0, frames, job.every)), "counts": dict(counts), "times": times,
            "detections": records}
