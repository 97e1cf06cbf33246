"""Privacy mode: code faces so identity does not survive while the person stays detectable.

Before encoding, every face (held for `hold` frames before and after each detection,
so a frame the face detector misses does not leak) is rebuilt from two parts: its own
coarse colours (cells x cells area averages, smoothly interpolated), which keep skin
tone and lighting, and the detail of a generic face (vcm.privacy.generic_face: by default
a drawn face, the same for everyone, aligned to the face's landmarks), which keeps eyes, brows,
nose and mouth where the person detector expects them while carrying nobody's identity. The
rebuilt face covers an ellipse inscribed in the face box and scaled by `inner`, blended into the
frame over a soft edge (its outer FEATHER of the radius): the head's outline, hair and ears stay,
and no box edge is drawn across the head (a hard rectangle cost a close-up person its detection).
The face's blocks may then be held within QP bounds (face_qp, face_max_qp), or left to the planner.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vcm.codec.qpmap import QP_MAX, QPMap, block_span, grid_shape
from vcm.models.face_detectors import CONCEALING_FACE_DETECTOR, load_face_detector
from vcm.models.faces import Face, FaceDetector
from vcm.privacy.generic_face import GENERIC_FACES, GenericFace

Box = tuple[int, int, int, int]
MAX_INNER = 1.5
FEATHER = 0.3  # the ellipse's soft edge: blended over its outer FEATHER of its radius


@dataclass(frozen=True)
class PrivacyConfig:
    """hold: frames a face is kept concealed before and after each detection; cells:
    resolution of the face's own colours that survive (cells x cells); face: the generic face
    painted over them (a GENERIC_FACES name); detail: weight of its detail; inner: size of the
    concealed ellipse against the ellipse inscribed in the face box (0 < inner <= MAX_INNER;
    above 1 it reaches past the box: the jaw and the face's outline); stride: faces are searched
    for on every stride-th frame, counted back from each window's last, and followed between
    searches (FaceConcealer); face_qp / face_max_qp: the lowest / highest QP of the face blocks
    (None: the planner's; a ceiling keeps the generic face's features, and the person with them,
    through coding)."""

    # face, cells, inner, detail, face_max_qp, then stride: chosen on the validation people (part privacy)
    hold: int = 1
    cells: int = 2
    face: str = "drawn"
    detail: float = 1.0
    inner: float = 1.1
    stride: int = 1
    face_qp: int | None = None
    face_max_qp: int | None = 24

    def __post_init__(self) -> None:
        if (self.hold < 0 or self.cells < 1 or self.detail < 0 or not 0 < self.inner <= MAX_INNER
                or self.stride < 1):
            raise ValueError(f"invalid privacy settings: {self}")
        GENERIC_FACES.entry(self.face)
        for name, qp in (("face_qp", self.face_qp), ("face_max_qp", self.face_max_qp)):
            if qp is not None and not 0 <= qp <= QP_MAX:
                raise ValueError(f"{name} must be in 0..{QP_MAX}, got {qp}")
        if self.face_qp is not None and self.face_max_qp is not None and self.face_qp > self.face_max_qp:
            raise ValueError(f"face_qp {self.face_qp} is above face_max_qp {self.face_max_qp}")


PRIVACY_MODES: dict[str, PrivacyConfig | None] = {"off": None, "faces": PrivacyConfig()}  # a camera's setting


def held_faces(faces: Sequence[Sequence[Face]], hold: int) -> list[list[Face]]:
    """Per frame, the faces detected within `hold` frames of it."""
    return [list(dict.fromkeys(face for window in faces[max(index - hold, 0): index + hold + 1]
                               for face in window))
            for index in range(len(faces))]


def _centre(face: Face) -> np.ndarray:
    return np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])


def _shifted_landmarks(face: Face, box: tuple[float, float, float, float]) -> tuple[tuple[float, float], ...]:
    """`face`'s landmarks moved and scaled with its box onto `box`."""
    (x1, y1, x2, y2), (ox1, oy1, ox2, oy2) = box, face.box
    scale_x, scale_y = (x2 - x1) / max(ox2 - ox1, 1e-6), (y2 - y1) / max(oy2 - oy1, 1e-6)
    return tuple((x1 + (x - ox1) * scale_x, y1 + (y - oy1) * scale_y) for x, y in face.landmarks)


def between(before: Sequence[Face], after: Sequence[Face], share: float) -> list[Face]:
    """The faces `share` (0..1) of the way from one search to the next. A face is followed to
    the nearest face of the other search whose centre is less than their larger size away (each
    used once): its box and landmarks move linearly. A face with no such partner stays where it
    was found (it may have left, or the detector missed it: concealing it costs nothing)."""
    unmatched = list(after)
    faces: list[Face] = []
    for face in before:
        gaps = [(float(np.linalg.norm(_centre(face) - _centre(other))), index, other)
                for index, other in enumerate(unmatched)]
        near = [(gap, index) for gap, index, other in gaps if gap < max(face.size, other.size)]
        if not near:
            faces.append(face)
            continue
        partner = unmatched.pop(min(near)[1])
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = face.box, partner.box
        box = (ax1 + share * (bx1 - ax1), ay1 + share * (by1 - ay1),
               ax2 + share * (bx2 - ax2), ay2 + share * (by2 - ay2))
        if face.landmarks and partner.landmarks:
            landmarks = tuple((ax + share * (bx - ax), ay + share * (by - ay))
                              for (ax, ay), (bx, by) in zip(face.landmarks, partner.landmarks, strict=True))
        else:
            landmarks = _shifted_landmarks(face if face.landmarks else partner, box)
        faces.append(Face(box, min(face.score, partner.score), landmarks))
    return faces + unmatched


def pixel_box(face: Face, width: int, height: int, scale: float = 1.0) -> Box | None:
    """The face box, enlarged `scale` times about its centre, in whole pixels (x2, y2
    exclusive) clipped to the frame, or None if empty."""
    x1, y1, x2, y2 = face.box
    if scale != 1.0:
        half_w, half_h = (x2 - x1) * scale / 2, (y2 - y1) * scale / 2
        centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
        x1, y1, x2, y2 = centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h
    box = (max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0),
           min(int(np.ceil(x2)), width), min(int(np.ceil(y2)), height))
    return box if box[2] > box[0] and box[3] > box[1] else None


def _coarse(patch: torch.Tensor, cells: int) -> torch.Tensor:
    """(1, C, h, w) -> its cells x cells area averages interpolated back to (1, C, h, w)."""
    height, width = patch.shape[-2:]
    pooled = F.adaptive_avg_pool2d(patch, (min(cells, height), min(cells, width)))
    return F.interpolate(pooled, size=(height, width), mode="bilinear", align_corners=False)


def ellipse_weight(face: Face, box: Box, inner: float) -> torch.Tensor:
    """(1, 1, y2 - y1, x2 - x1) weights over pixel box (x1, y1, x2, y2): 1 inside the ellipse
    inscribed in the face box scaled by `inner` to 1 - FEATHER of its radius, falling linearly to 0
    at its rim."""
    fx1, fy1, fx2, fy2 = face.box
    x1, y1, x2, y2 = box
    ys, xs = torch.meshgrid(torch.arange(y1, y2, dtype=torch.float32) + 0.5,
                            torch.arange(x1, x2, dtype=torch.float32) + 0.5, indexing="ij")
    radius_x, radius_y = max(fx2 - fx1, 1e-6) / 2 * inner, max(fy2 - fy1, 1e-6) / 2 * inner
    reach = torch.sqrt(((xs - (fx1 + fx2) / 2) / radius_x) ** 2 + ((ys - (fy1 + fy2) / 2) / radius_y) ** 2)
    return ((1 - reach) / FEATHER).clamp(0, 1)[None, None]


def conceal(frames: np.ndarray, faces: Sequence[Sequence[Face]], generic: GenericFace,
            config: PrivacyConfig) -> np.ndarray:
    """Rebuild every face of (N, H, W, 3) uint8 frames from its coarse colours plus the
    generic face's detail, inside its soft ellipse -> a new (N, H, W, 3) uint8 array."""
    edited = frames.copy()
    height, width = frames.shape[1:3]
    for index, frame_faces in enumerate(faces):
        for face in frame_faces:
            box = pixel_box(face, width, height, max(config.inner, 1.0))
            if box is None:
                continue
            x1, y1, x2, y2 = box
            patch = torch.from_numpy(edited[index, y1:y2, x1:x2].astype(np.float32)).permute(2, 0, 1)[None]
            rebuilt = _coarse(patch, config.cells)
            if len(face.landmarks) == 5:
                mean_face = generic.warped(face, box)
                rebuilt = rebuilt + config.detail * (mean_face - _coarse(mean_face, config.cells))
            weight = ellipse_weight(face, box, config.inner)
            blended = weight * rebuilt + (1 - weight) * patch
            edited[index, y1:y2, x1:x2] = blended[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
    return edited


class FaceConcealer:
    """Conceals the faces of one video window after window: finds them (CONCEALING_FACE_DETECTOR
    unless another detector is given; on each window's last frame and every config.stride-th
    frame before it, followed between searches by `between`) or takes faces already found,
    holds each for config.hold frames, also across windows, and rebuilds them (conceal). State:
    the generic face, built on first use, the last search (its frame index, its faces), the
    frames seen and the faces of the previous window's last frames."""

    def __init__(self, config: PrivacyConfig, face_detector: FaceDetector | None = None) -> None:
        self.config = config
        self._face_detector = face_detector
        self._generic: GenericFace | None = None
        self._carry: list[list[Face]] = []
        self._seen = 0  # frames of the video seen so far
        self._last_search: tuple[int, list[Face]] | None = None  # (frame index, faces found)

    def _find(self, chunk: np.ndarray) -> list[list[Face]]:
        """Per frame of the next window, its faces: searched for on the window's last frame and
        every stride-th frame before it (and on the video's first), followed in between; no two
        searches are more than stride frames apart, and a window of n frames costs ceil(n / stride)
        searches."""
        if self._face_detector is None:
            self._face_detector = load_face_detector(CONCEALING_FACE_DETECTOR)
        start, count = self._seen, len(chunk)
        searched = sorted({*range(count - 1, -1, -self.config.stride), *([0] if start == 0 else [])})
        searches = [*([self._last_search] if self._last_search else []),
                    *((start + index, self._face_detector.detect_faces(chunk[index])) for index in searched)]
        faces: list[list[Face]] = [[] for _ in range(count)]
        for (first, before), (last, after) in itertools.pairwise(searches):
            for frame in range(max(first, start), last + 1):
                share = (frame - first) / (last - first)
                faces[frame - start] = between(before, after, share) if 0 < share < 1 else (
                    list(before) if share == 0 else list(after))
        if len(searches) == 1:  # the video's first frame, alone in its window
            faces[0] = list(searches[0][1])
        self._seen, self._last_search = start + count, searches[-1]
        return faces

    def conceal(self, chunk: np.ndarray, faces: Sequence[Sequence[Face]] | None = None
                ) -> tuple[np.ndarray, list[list[Face]]]:
        """(n, H, W, 3) uint8 frames (the next window) -> (the frames with faces concealed, per
        frame the faces concealed); faces: per frame, faces already found on `chunk`."""
        if faces is None:
            faces = self._find(chunk)
        found = [list(frame_faces) for frame_faces in faces]
        hold = self.config.hold
        concealed = held_faces(self._carry + found, hold)[len(self._carry):]
        self._carry = found[-hold:] if hold else []
        if self._generic is None:
            self._generic = GENERIC_FACES.entry(self.config.face)()
        return conceal(chunk, concealed, self._generic, self.config), concealed


def bound_face_blocks(maps: Sequence[QPMap], faces: Sequence[Sequence[Face]], width: int, height: int,
                      config: PrivacyConfig) -> list[QPMap]:
    """Every block a face box touches held at QP >= config.face_qp and <= config.face_max_qp
    (either None: no bound); maps without a face, or with no bound set, are returned as given."""
    low, high = config.face_qp, config.face_max_qp
    if low is None and high is None:
        return list(maps)
    rows, cols = grid_shape(width, height)
    bounded = []
    for qp_map, frame_faces in zip(maps, faces, strict=True):
        boxes = [box for box in (pixel_box(face, width, height) for face in frame_faces) if box]
        if not boxes:
            bounded.append(qp_map)
            continue
        blocks = qp_map.dense(rows, cols).copy()
        for x1, y1, x2, y2 in boxes:
            rows_hit, cols_hit = block_span((x1, y1, x2, y2), 0, rows, cols)
            blocks[rows_hit, cols_hit] = np.clip(blocks[rows_hit, cols_hit], low, high)
        bounded.append(QPMap.from_blocks(blocks))
    return bounded
