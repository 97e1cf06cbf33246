"""Inversion attempts on decoded faces: sharpening, upsampling, averaging aligned neighbours."""

import numpy as np
import pytest

from vcm.models.faces import Face
from vcm.privacy.attacks import (
    ATTEMPTS,
    CONTEXT,
    UPSAMPLE,
    Region,
    attempts,
    average_neighbours,
    same_face,
    sharpen,
    warp_onto,
    without_face,
)


def _ramp_clip(frames: int = 5) -> np.ndarray:
    ys, xs = np.mgrid[0:60, 0:80]
    picture = np.stack([xs * 3, ys * 4, (xs + ys) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    return np.repeat(picture[None], frames, axis=0)


def test_sharpening_keeps_flat_pictures_and_steepens_edges() -> None:
    flat = np.full((20, 20, 3), 90, np.uint8)
    assert (sharpen([flat])[0] == flat).all()
    edge = np.zeros((20, 20, 3), np.uint8)
    edge[:, 10:] = 100
    sharpened = sharpen([edge])[0].astype(int)
    assert sharpened[5, 11, 0] > 100 and sharpened[5, 8, 0] == 0 and sharpened[5, 0, 0] == 0


def test_a_box_warped_onto_itself_is_the_region_and_a_shifted_box_moves_the_picture() -> None:
    clip = _ramp_clip(1)
    face = Face((30, 20, 50, 40), 0.9)
    region = Region.around(face, 80, 60)
    same = warp_onto(clip[0], face, face, region).permute(1, 2, 0).numpy()
    assert np.abs(same - region.cut(clip[0])).max() < 1e-3
    moved = Face((32, 20, 52, 40), 0.9)  # the face sits 2 px further right in the other frame
    shifted = warp_onto(clip[0], moved, face, region).permute(1, 2, 0).numpy()
    assert np.abs(shifted[:, 10:20] - region.cut(clip[0])[:, 12:22]).max() < 1e-3


def test_averaging_a_still_face_gives_the_face_and_skips_frames_without_it() -> None:
    clip = _ramp_clip()
    face = Face((30, 20, 50, 40), 0.9)
    faces = [[face], [], [face], [Face((0, 0, 5, 5), 0.9)], [face]]
    region = Region.around(face, 80, 60)
    averaged = average_neighbours(clip, faces, 2, face, region)
    assert (averaged == region.cut(clip[2])).all()
    assert same_face(face, faces[3]) is None and same_face(face, faces[4]) == face


def test_every_attempt_pairs_the_original_with_the_attacked_face_at_one_scale() -> None:
    clip = _ramp_clip()
    face = Face((30, 20, 50, 40), 0.9, ((35.0, 25.0),))
    views = attempts(clip, clip, [[face]] * 5, 2, face)
    assert [view.name for view in views] == [*ATTEMPTS, CONTEXT]
    for view in views:
        assert view.original.shape == view.attacked.shape
        scale = UPSAMPLE if view.name == "upsampled" else 1
        region = Region.around(face, 80, 60)
        assert view.original.shape[:2] == ((region.y2 - region.y1) * scale, (region.x2 - region.x1) * scale)
        assert view.face.box == pytest.approx(tuple((v - o) * scale for v, o in zip(
            face.box, (region.x1, region.y1, region.x1, region.y1), strict=True)))
        assert view.face.landmarks[0] == pytest.approx(((35 - region.x1) * scale, (25 - region.y1) * scale))


def test_the_control_keeps_the_surroundings_and_flattens_the_face() -> None:
    picture = _ramp_clip(1)[0]
    control = without_face(picture, Face((30, 20, 50, 40), 0.9))
    assert (control[:20] == picture[:20]).all() and (control[:, :30] == picture[:, :30]).all()
    assert len(np.unique(control[20:40, 30:50].reshape(-1, 3), axis=0)) == 1
