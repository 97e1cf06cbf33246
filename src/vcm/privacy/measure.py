"""`vcm privacy`: face-identity leakage and person detection of a decoded video against its
original, streamed in windows so memory does not grow with length."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vcm.errors import InputError
from vcm.media import FrameSource, windows
from vcm.models import load_detector
from vcm.models.detector import detect_frames
from vcm.models.face_detectors import load_face_detector
from vcm.models.face_identities import load_attackers
from vcm.models.faces import detect_faces
from vcm.privacy.leakage import PrivacyReport, match_thresholds, privacy_report
from vcm.progress import ProgressCallback
from vcm.tasks.targets import TargetSpec

PRIVACY_WINDOW = 32  # frames compared at a time


def measure_leak(original_path: str | Path, decoded_path: str | Path, *, face_detector: str,
                 detector: str, spec: TargetSpec, max_frames: int | None = None,
                 progress: ProgressCallback | None = None) -> tuple[PrivacyReport, int]:
    """(the report over every frame, frames compared). Faces are found on the original with
    `face_detector` and attacked in the decoded video by every attacker (ATTACKERS); person targets follow
    `spec`. InputError when the two videos differ in size or length."""
    with FrameSource(original_path, max_frames=max_frames) as original, \
            FrameSource(decoded_path, max_frames=max_frames) as decoded:
        if (original.width, original.height) != (decoded.width, decoded.height):
            raise InputError(f"{original_path} ({original.width}x{original.height}) and {decoded_path} "
                             f"({decoded.width}x{decoded.height}) differ in size; compare a video with its "
                             "own decoded version")
        faces = load_face_detector(face_detector)
        attackers = load_attackers()
        people = load_detector(detector)
        total = PrivacyReport(thresholds=match_thresholds(attackers))

        def pairs() -> Iterator[np.ndarray]:
            for before, after in itertools.zip_longest(original, decoded):
                if before is None or after is None:
                    raise InputError(f"{original_path} and {decoded_path} differ in length; compare a "
                                     "video with its own decoded version")
                yield np.stack([before, after])

        for start, chunk in windows(pairs(), PRIVACY_WINDOW):
            before, after = chunk[:, 0], chunk[:, 1]
            part = privacy_report(before, after, face_detector=faces, attackers=attackers, detector=people,
                                  spec=spec, faces=detect_faces(before, faces),
                                  original_detections=detect_frames(people, before),
                                  decoded_detections=detect_frames(people, after))
            total.merge(part, start)
            if progress is not None:
                progress("faces, identities and people", start + len(before), original.expected_frames)
        return total, original.frames_read
