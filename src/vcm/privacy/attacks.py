"""Inversion attempts: what an attacker does to a decoded face before matching it. In a study
of 15 published face anonymisations, 11 were at least partly reversible (Fantomas), so a leak
is counted when any attempt matches.

Every attempt works on a region around one face (the face box plus REGION_MARGIN box sizes on
each side, enough for both identity models' crops) and returns the original's region beside
the attacked one at the same scale, so the two are embedded with one alignment:
  - decoded: the decoded pixels as they are;
  - sharpened: an unsharp mask (deblurring a smoothed or coarsely coded face);
  - upsampled: both regions enlarged UPSAMPLE times with bicubic interpolation, then sharpened
    (the identity models resample a small face themselves; this hands them a sharper one);
  - averaged: the same face over the frames within AVERAGE_RADIUS, each warped so that its box
    (found on the original, the attacker's best case) lands on this frame's box, then averaged:
    coding noise and per-frame concealment that differs between frames average out;
  - averaged+sharpened: the average, then the unsharp mask.

Beside the attempts, a control: the original with the face box filled with its mean colour
(CONTEXT). An attacker that still matches the control recognises the surroundings (hair,
clothes, background: the same pixels in both pictures), not the face, so for that attacker
this face cannot tell a concealment that works from one that does not.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vcm.models.detector import box_iou
from vcm.models.face_detectors import SAME_FACE_IOU
from vcm.models.faces import Face

REGION_MARGIN = 1.0  # face box sizes kept on each side of the box
UPSAMPLE = 2
AVERAGE_RADIUS = 2  # frames before and after: five frames averaged
SHARPEN_SIGMA = 1.5  # pixels of the region the attempt works at
SHARPEN_AMOUNT = 1.5
ATTEMPTS = ("decoded", "sharpened", "upsampled", "averaged", "averaged+sharpened")
CONTEXT = "context"  # the control view: no face left, only its surroundings


@dataclass(frozen=True)
class Region:
    """A face's region: its pixel bounds (x1, y1, x2, y2) in the frame, x2/y2 exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int

    @classmethod
    def around(cls, face: Face, width: int, height: int) -> "Region":
        x1, y1, x2, y2 = face.box
        margin = REGION_MARGIN * max(x2 - x1, y2 - y1)
        return cls(max(int(np.floor(x1 - margin)), 0), max(int(np.floor(y1 - margin)), 0),
                   min(int(np.ceil(x2 + margin)), width), min(int(np.ceil(y2 + margin)), height))

    def cut(self, frame: np.ndarray) -> np.ndarray:
        return frame[self.y1:self.y2, self.x1:self.x2]

    def local(self, face: Face, scale: float = 1.0) -> Face:
        """`face` in the region's pixel coordinates, enlarged `scale` times with the region."""
        x1, y1, x2, y2 = face.box
        landmarks = tuple(((x - self.x1) * scale, (y - self.y1) * scale) for x, y in face.landmarks)
        return Face(((x1 - self.x1) * scale, (y1 - self.y1) * scale, (x2 - self.x1) * scale,
                     (y2 - self.y1) * scale), face.score, landmarks)


def _tensor(pictures: Sequence[np.ndarray]) -> torch.Tensor:
    """(h, w, 3) uint8 pictures -> (N, 3, h, w) float32 0..255."""
    return torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).float()


def _pictures(batch: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, h, w) float -> N (h, w, 3) uint8 pictures, rounded and clipped."""
    return list(batch.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy())


def _gaussian_blur(batch: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(int(np.ceil(3 * sigma)), 1)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-taps**2 / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).repeat(3, 1, 1, 1)
    padded = F.pad(batch, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(3, 1, 1, -1), groups=3)
    return F.conv2d(rows, kernel.view(3, 1, -1, 1), groups=3)


def sharpen(pictures: Sequence[np.ndarray], sigma: float = SHARPEN_SIGMA,
            amount: float = SHARPEN_AMOUNT) -> list[np.ndarray]:
    """Unsharp mask of (h, w, 3) uint8 pictures: p + amount (p - blur_sigma(p))."""
    batch = _tensor(pictures)
    return _pictures(batch + amount * (batch - _gaussian_blur(batch, sigma)))


def upsample(pictures: Sequence[np.ndarray], factor: int = UPSAMPLE) -> list[np.ndarray]:
    """(h, w, 3) uint8 pictures enlarged `factor` times with bicubic interpolation."""
    return _pictures(F.interpolate(_tensor(pictures), scale_factor=factor, mode="bicubic",
                                   align_corners=False))


def without_face(picture: np.ndarray, face: Face) -> np.ndarray:
    """(h, w, 3) uint8 picture with the pixels of `face`'s box (in its coordinates) replaced by
    their mean colour."""
    x1, y1, x2, y2 = face.box
    left, top = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
    right, bottom = min(int(np.ceil(x2)), picture.shape[1]), min(int(np.ceil(y2)), picture.shape[0])
    control = picture.copy()
    box = control[top:bottom, left:right]
    if box.size:
        box[:] = box.reshape(-1, 3).mean(0).round().astype(np.uint8)
    return control


def same_face(face: Face, candidates: Sequence[Face]) -> Face | None:
    """The candidate whose box overlaps `face`'s most, if at least SAME_FACE_IOU."""
    best = max(candidates, key=lambda other: box_iou(face.box, other.box), default=None)
    return best if best is not None and box_iou(face.box, best.box) >= SAME_FACE_IOU else None


def warp_onto(frame: np.ndarray, source: Face, target: Face, region: Region) -> torch.Tensor:
    """The (3, h, w) float picture of `region` in which `frame`'s pixels are moved and scaled
    so that box `source` lands on box `target` (bilinear, borders repeated)."""
    sx1, sy1, sx2, sy2 = source.box
    tx1, ty1, tx2, ty2 = target.box
    scale_x, scale_y = (sx2 - sx1) / max(tx2 - tx1, 1e-6), (sy2 - sy1) / max(ty2 - ty1, 1e-6)
    ys, xs = np.mgrid[region.y1:region.y2, region.x1:region.x2].astype(np.float64)
    source_x = (sx1 + sx2) / 2 + (xs - (tx1 + tx2) / 2) * scale_x
    source_y = (sy1 + sy2) / 2 + (ys - (ty1 + ty2) / 2) * scale_y
    height, width = frame.shape[:2]
    grid = np.stack([source_x / (width - 1), source_y / (height - 1)], axis=-1) * 2 - 1
    return F.grid_sample(_tensor([frame]), torch.from_numpy(grid).float()[None], mode="bilinear",
                         padding_mode="border", align_corners=True)[0]


def average_neighbours(decoded: np.ndarray, faces: Sequence[Sequence[Face]], index: int, face: Face,
                       region: Region, radius: int = AVERAGE_RADIUS) -> np.ndarray:
    """The (h, w, 3) uint8 mean of `region` over decoded frames index - radius .. index + radius,
    each aligned by its own box of the same face (frames where the face is not found are left out)."""
    warped = []
    for other in range(max(index - radius, 0), min(index + radius + 1, len(decoded))):
        match = face if other == index else same_face(face, faces[other])
        if match is not None:
            warped.append(warp_onto(decoded[other], match, face, region))
    return _pictures(torch.stack(warped).mean(0, keepdim=True))[0]


@dataclass(frozen=True)
class Attempt:
    """One attacked view of a face: the original's region, the attacked region (same size) and
    the face in their coordinates."""

    name: str
    original: np.ndarray
    attacked: np.ndarray
    face: Face


def attempts(original: np.ndarray, decoded: np.ndarray, faces: Sequence[Sequence[Face]], index: int,
             face: Face) -> list[Attempt]:
    """Every attempt of ATTEMPTS on `face` of frame `index`, then the CONTEXT control. original,
    decoded: (N, H, W, 3) uint8 clips; faces: per frame, the faces found on the original."""
    height, width = original.shape[1:3]
    region = Region.around(face, width, height)
    before, after = region.cut(original[index]), region.cut(decoded[index])
    averaged = average_neighbours(decoded, faces, index, face, region)
    local = region.local(face)
    sharpened, averaged_sharpened = sharpen([after, averaged])
    large_before, large_after = upsample([before, after])
    return [Attempt("decoded", before, after, local), Attempt("sharpened", before, sharpened, local),
            Attempt("upsampled", large_before, sharpen([large_after])[0], region.local(face, UPSAMPLE)),
            Attempt("averaged", before, averaged, local),
            Attempt("averaged+sharpened", before, averaged_sharpened, local),
            Attempt(CONTEXT, before, without_face(before, local), local)]
