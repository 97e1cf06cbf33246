"""The pose task's survival measure: COCO's object keypoint similarity (OKS) between the pose
found on the original frame and those found after coding."""

import math
from collections.abc import Sequence

from vcm.models.movenet import KEYPOINT_NAMES, Pose

# COCO's per-keypoint standard deviations, as shares of the object scale
COCO_SIGMAS = dict(zip(KEYPOINT_NAMES, (0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072,
                                        0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089,
                                        0.089), strict=True))
MIN_AREA = 1.0  # px^2: the object scale's floor, for a reference with one visible keypoint


def object_keypoint_similarity(reference: Pose, candidate: Pose) -> float:
    """OKS in [0, 1]: the mean, over the keypoints visible in `reference`, of
    exp(-d^2 / (2 s^2 k^2)), with d the keypoint's distance in pixels, s^2 the area of the
    reference's box in px^2 (at least MIN_AREA) and k = 2 * the keypoint's COCO sigma."""
    box = reference.box
    if box is None:
        raise ValueError("the reference pose has no visible keypoint")
    area = max((box[2] - box[0]) * (box[3] - box[1]), MIN_AREA)
    terms = []
    for index, seen in enumerate(reference.visible):
        if seen:
            (rx, ry, _), (cx, cy, _) = reference.keypoints[index], candidate.keypoints[index]
            k = 2.0 * COCO_SIGMAS[KEYPOINT_NAMES[index]]
            terms.append(math.exp(-((cx - rx) ** 2 + (cy - ry) ** 2) / (2.0 * area * k * k)))
    return sum(terms) / len(terms)


def pose_survives(reference: Pose, candidates: Sequence[Pose], min_oks: float = 0.5) -> bool:
    """Whether some candidate pose has OKS >= min_oks with `reference`."""
    return any(object_keypoint_similarity(reference, c) >= min_oks for c in candidates)

