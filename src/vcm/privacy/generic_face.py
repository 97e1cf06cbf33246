"""Generic faces: identity-free faces painted over a real face's own coarse colours so that
eyes, brows, nose and mouth stay where a person detector expects them while nobody's identity
survives (k-same de-identification with every person mapped to one face).

Two are registered (GENERIC_FACES): "drawn", a face drawn from a few shapes (dark irises in
light eye whites under lids and brows, nostrils, the lips' line), sharp at any size and the same
for everyone; and "mean-lfw", the mean of 100 different people's faces (scikit-image's LFW
subset, 25x25 crops upsampled 8x), which is blurred by its low resolution. Painting a generic
face onto a face warps it with the similarity transform that maps its five landmarks (eyes,
nose, mouth corners, as MTCNN places them) onto the face's.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vcm.errors import AssetError
from vcm.media.face_clips import SKIMAGE_FILES
from vcm.models.blazeface import MOUTH_HALF_WIDTH
from vcm.models.face_detectors import LANDMARK_FACE_DETECTOR, load_face_detector
from vcm.models.faces import Face
from vcm.registry import Registry

GALLERY_FACES = 100  # lfw_subset.npy: the first 100 crops are faces
UPSAMPLE = 8
BORDER = 40  # pixels of flat surround so the face detector sees the whole mean face

# The drawn face's canvas (pixels) and five landmarks. The eyes are EYE_DISTANCE apart; nose and
# mouth corners sit where MTCNN places them on the mean LFW face (the nose NOSE_BELOW and the mouth
# corners MOUTH_BELOW eye distances below the eyes, the corners MOUTH_HALF_WIDTH either side).
CANVAS = (280, 240)  # height, width
EYE_DISTANCE, EYE_LINE = 60.0, 120.0
NOSE_BELOW, MOUTH_BELOW = 0.55, 0.97
_CENTRE, _HALF = CANVAS[1] / 2, EYE_DISTANCE / 2
DRAWN_LANDMARKS = ((_CENTRE - _HALF, EYE_LINE), (_CENTRE + _HALF, EYE_LINE),
                   (_CENTRE, EYE_LINE + NOSE_BELOW * EYE_DISTANCE),
                   (_CENTRE - MOUTH_HALF_WIDTH * EYE_DISTANCE, EYE_LINE + MOUTH_BELOW * EYE_DISTANCE),
                   (_CENTRE + MOUTH_HALF_WIDTH * EYE_DISTANCE, EYE_LINE + MOUTH_BELOW * EYE_DISTANCE))
SKIN_GREY = 150.0  # the canvas's flat level: only the drawn face's detail is painted


def similarity_transform(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares scale s, rotation R (2, 2) and shift t (2,) with target ~ s R source + t,
    for (K, 2) point sets (Umeyama's method)."""
    source_mean, target_mean = source.mean(0), target.mean(0)
    centred_source, centred_target = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(centred_target.T @ centred_source)
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ flip @ vt
    scale = float((singular * np.diag(flip)).sum() / (centred_source**2).sum())
    return scale, rotation, target_mean - scale * rotation @ source_mean


@dataclass
class GenericFace:
    """A face image (H, W) float grey levels in 0..255 and its five landmarks (5, 2), x y pixels."""

    image: np.ndarray
    landmarks: np.ndarray

    def warped(self, face: Face, box: tuple[int, int, int, int]) -> torch.Tensor:
        """The generic face aligned to `face`'s five landmarks over pixel box (x1, y1, x2, y2)
        -> (1, 1, y2 - y1, x2 - x1) float tensor of grey levels."""
        scale, rotation, shift = similarity_transform(self.landmarks, np.asarray(face.landmarks))
        x1, y1, x2, y2 = box
        if not scale > 1e-6:  # landmarks all in one point: no face to align to, only its colours
            return torch.full((1, 1, y2 - y1, x2 - x1), float(self.image.mean()))
        ys, xs = np.mgrid[y1:y2, x1:x2].astype(np.float64)
        source = ((np.stack([xs, ys], axis=-1) - shift) @ rotation) / scale  # R^T (p - t) / s
        height, width = self.image.shape
        grid = np.stack([source[..., 0] / (width - 1), source[..., 1] / (height - 1)], axis=-1) * 2 - 1
        return F.grid_sample(torch.from_numpy(self.image)[None, None],
                             torch.from_numpy(grid).float()[None], mode="bilinear",
                             padding_mode="border", align_corners=True)


def mean_lfw_face() -> GenericFace:
    """The mean of GALLERY_FACES LFW crops, upsampled, its landmarks found by MTCNN."""
    crops = np.load(SKIMAGE_FILES.paths()["lfw_subset.npy"], allow_pickle=False)[:GALLERY_FACES]
    mean = (crops.mean(axis=0) * 255).astype(np.uint8)
    size = mean.shape[0] * UPSAMPLE
    large = np.asarray(Image.fromarray(mean).resize((size, size), Image.Resampling.BICUBIC), np.float32)
    image = np.pad(large, BORDER, mode="constant", constant_values=float(large.mean()))
    found = load_face_detector(LANDMARK_FACE_DETECTOR).detect_faces(
        np.repeat(image[..., None], 3, axis=2).astype(np.uint8))
    if not found or len(found[0].landmarks) != 5:
        raise AssetError("the face detector finds no face with landmarks in the mean LFW face")
    return GenericFace(image, np.asarray(found[0].landmarks, dtype=np.float64))


class _Canvas:
    """Signed distances (pixels; negative inside) to simple shapes on the drawn face's canvas."""

    def __init__(self) -> None:
        ys, xs = np.mgrid[0:CANVAS[0], 0:CANVAS[1]].astype(np.float64) + 0.5
        self.xs, self.ys = xs, ys
        self.image = np.zeros(CANVAS)

    def ellipse(self, centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
        (cx, cy), (a, b) = centre, radii
        return (np.sqrt(((self.xs - cx) / a) ** 2 + ((self.ys - cy) / b) ** 2) - 1) * min(a, b)

    def arc(self, x_span: tuple[float, float], y: float, bend: float, thickness: float) -> np.ndarray:
        """A stroke along y + bend * t^2 (t from -1 to 1 across x_span), `thickness` wide."""
        middle, half = (x_span[0] + x_span[1]) / 2, (x_span[1] - x_span[0]) / 2
        along = np.clip((self.xs - middle) / half, -1, 1)
        beyond = np.maximum(np.abs(self.xs - middle) - half, 0)
        return np.hypot(beyond, self.ys - (y + bend * along**2)) - thickness / 2

    def paint(self, distance: np.ndarray, level: float, edge: float = 1.2) -> None:
        """Add `level` grey levels inside a shape, fading over about `edge` pixels at its rim."""
        self.image += level / (1 + np.exp(np.clip(distance / edge, -50, 50)))


def drawn_face() -> GenericFace:
    """A face drawn from ellipses and strokes at DRAWN_LANDMARKS, as grey-level detail about SKIN_GREY."""
    d = EYE_DISTANCE
    canvas = _Canvas()
    for eye_x, eye_y in DRAWN_LANDMARKS[:2]:
        canvas.paint(canvas.ellipse((eye_x, eye_y - 3), (0.38 * d, 0.22 * d)), -22, edge=6)  # socket shadow
        canvas.paint(canvas.ellipse((eye_x, eye_y), (0.24 * d, 0.095 * d)), 45)  # eye white
        canvas.paint(canvas.ellipse((eye_x, eye_y), (0.095 * d, 0.095 * d)), -120)  # iris
        lid = canvas.arc((eye_x - 0.25 * d, eye_x + 0.25 * d), eye_y - 0.05 * d, 0.06 * d, 2.5)
        canvas.paint(lid, -60)
        canvas.paint(canvas.arc((eye_x - 0.3 * d, eye_x + 0.3 * d), eye_y - 0.36 * d, 0.07 * d, 0.08 * d),
                     -70, edge=1.5)  # brow
    nose_x, nose_y = DRAWN_LANDMARKS[2]
    for side in (-1, 1):
        side_x = nose_x + side * 0.14 * d
        canvas.paint(canvas.arc((side_x - 1.5, side_x + 1.5), nose_y - 0.45 * d, 0, 0.07 * d), -18, edge=4)
        nostril = canvas.ellipse((nose_x + side * 0.12 * d, nose_y + 0.06 * d), (0.06 * d, 0.035 * d))
        canvas.paint(nostril, -60)
    canvas.paint(canvas.ellipse((nose_x, nose_y - 0.05 * d), (0.07 * d, 0.12 * d)), 20, edge=4)  # nose tip
    (left_x, mouth_y), (right_x, _) = DRAWN_LANDMARKS[3:]
    canvas.paint(canvas.arc((left_x + 4, right_x - 4), mouth_y, -0.03 * d, 3.0), -70)  # the lips' line
    canvas.paint(canvas.arc((left_x + 7, right_x - 7), mouth_y - 0.07 * d, 0.03 * d, 0.1 * d), -35, edge=2)
    canvas.paint(canvas.arc((left_x + 9, right_x - 9), mouth_y + 0.1 * d, -0.03 * d, 0.12 * d), -25, edge=2)
    canvas.paint(canvas.arc((left_x + 12, right_x - 12), mouth_y + 0.42 * d, -0.03 * d, 0.1 * d), -15, edge=5)
    image = np.clip(canvas.image + SKIN_GREY, 0, 255).astype(np.float32)
    return GenericFace(image, np.asarray(DRAWN_LANDMARKS, dtype=np.float64))


GENERIC_FACES: Registry[Callable[[], GenericFace]] = Registry("generic face")
GENERIC_FACES.register("drawn", drawn_face)
GENERIC_FACES.register("mean-lfw", mean_lfw_face)
