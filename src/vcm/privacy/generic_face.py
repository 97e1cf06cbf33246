"""A generic face: the mean of 100 different people's faces (scikit-image's LFW subset),
used to replace a face's identity-bearing detail (k-same de-identification with k=100).

The mean face is upsampled once and its five landmarks found by the face detector;
painting it onto a face warps it with the similarity transform that maps its
landmarks onto the face's, and keeps only its detail (the mean face minus its own
coarse version) on top of the real face's coarse colours.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vcm.errors import AssetError
from vcm.media.face_clips import SKIMAGE_FILES
from vcm.models.faces import Face, FaceDetector

GALLERY_FACES = 100  # lfw_subset.npy: the first 100 crops are faces
UPSAMPLE = 8
BORDER = 40  # pixels of flat surround so the face detector sees the whole mean face


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
    """The mean face image (H, W) float grey levels in 0..255 and its five landmarks (5, 2)."""

    image: np.ndarray
    landmarks: np.ndarray

    @classmethod
    def build(cls, face_detector: FaceDetector) -> "GenericFace":
        crops = np.load(SKIMAGE_FILES.paths()["lfw_subset.npy"], allow_pickle=False)[:GALLERY_FACES]
        mean = (crops.mean(axis=0) * 255).astype(np.uint8)
        size = mean.shape[0] * UPSAMPLE
        large = np.asarray(Image.fromarray(mean).resize((size, size), Image.Resampling.BICUBIC), np.float32)
        image = np.pad(large, BORDER, mode="constant", constant_values=float(large.mean()))
        found = face_detector.detect_faces(np.repeat(image[..., None], 3, axis=2).astype(np.uint8))
        if not found or len(found[0].landmarks) != 5:
            raise AssetError("the face detector finds no face with landmarks in the mean LFW face")
        return cls(image, np.asarray(found[0].landmarks, dtype=np.float64))

    def warped(self, face: Face, box: tuple[int, int, int, int]) -> torch.Tensor:
        """The mean face aligned to `face`'s landmarks over pixel box (x1, y1, x2, y2)
        -> (1, 1, y2 - y1, x2 - x1) float tensor of grey levels."""
        scale, rotation, shift = similarity_transform(self.landmarks, np.asarray(face.landmarks))
        x1, y1, x2, y2 = box
        ys, xs = np.mgrid[y1:y2, x1:x2].astype(np.float64)
        source = ((np.stack([xs, ys], axis=-1) - shift) @ rotation) / scale  # R^T (p - t) / s
        height, width = self.image.shape
        grid = np.stack([source[..., 0] / (width - 1), source[..., 1] / (height - 1)], axis=-1) * 2 - 1
        return F.grid_sample(torch.from_numpy(self.image)[None, None],
                             torch.from_numpy(grid).float()[None], mode="bilinear",
                             padding_mode="border", align_corners=True)
