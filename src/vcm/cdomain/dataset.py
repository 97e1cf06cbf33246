"""The synthetic activity data set: recordings rendered over the sample's frames, coded as H.264
at several QPs, read back window by window into arrays the activity networks train on.

Splits are by recording and by background: train recordings are drawn over sample frames
0-395 (segments 0-11), validation over 396-527 (12-15), test over 528-794 (16-23), each split
with its own random figures, actions and seeds. Nothing is chosen on test.
"""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vcm.atomic import atomic_output, write_text_atomic
from vcm.cdomain.synthetic import (
    ACTIONS,
    FRAME_SIZE,
    WINDOW,
    crop_background,
    render_recording,
    texture_background,
)
from vcm.cdomain.windows import MODEL_GRID, PICTURE_SIZE, read_windows
from vcm.codec import QPMap, encode
from vcm.codec.encoder import Encoder
from vcm.media.samples import SAMPLE_SPLITS, sample_frames

SPLITS = SAMPLE_SPLITS
QPS = (22, 28, 34, 40)
FPS = 10.0
BACKGROUND_SCALE = 2  # sample frames are halved before cropping
TEXTURE_SHARE = 0.25  # recordings over a random texture instead of the sample


@dataclass(frozen=True)
class DatasetConfig:
    """How many recordings per split, windows per recording, and the seed."""

    train: int = 96
    validation: int = 24
    test: int = 40
    windows: int = 8
    seed: int = 0

    def recordings(self, split: str) -> int:
        return int(getattr(self, split))


FEATURES = ("mv", "residual", "intra", "frames")


def load_split(folder: Path, split: str) -> dict[str, np.ndarray]:
    """A built split's arrays: mv (N, WINDOW, 2, 24, 32) float32, residual (N, WINDOW, 24, 32)
    float32, intra (N, 96, 128, 3) uint8, frames (N, WINDOW, 96, 128, 3) uint8, label (N,) int64,
    recording (N,) int64, qp (N,) int64."""
    with np.load(folder / split / "features.npz") as data:
        return {key: data[key] for key in data.files}


def data_identity(folder: Path) -> str:
    """What the built train and validation splits were made from (their config.json files)."""
    return " ".join((folder / split / "config.json").read_text() for split in ("train", "validation"))


def _background_frames(start: int, stop: int) -> np.ndarray:
    """(stop - start, 288, 384, 3) uint8 sample frames, halved."""
    return np.stack([frame[::BACKGROUND_SCALE, ::BACKGROUND_SCALE] for frame in sample_frames(start, stop)])


def build_split(folder: Path, split: str, config: DatasetConfig,
                on_recording: Callable[[int], None] | None = None) -> Path:
    """Render, encode (H.264, GOP = WINDOW, QP cycling through QPS) and read back one split's
    recordings into folder/split/; returns the features file. Rebuilt only if its config changed."""
    target = folder / split
    features = target / "features.npz"
    stamp = target / "config.json"
    settings = asdict(config) | {"picture_size": list(PICTURE_SIZE), "grid": list(MODEL_GRID)}
    if features.exists() and stamp.exists() and json.loads(stamp.read_text()) == settings:
        return features
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([config.seed, list(SPLITS).index(split)])
    sample = _background_frames(*SPLITS[split])
    length = config.windows * WINDOW
    arrays: dict[str, list[np.ndarray]] = {key: [] for key in (*FEATURES, "label", "recording", "qp")}
    labels = {}
    for recording in range(config.recordings(split)):
        classes = rng.permutation(np.resize(rng.permutation(len(ACTIONS)), config.windows))
        actions = [ACTIONS[c] for c in classes]
        if rng.uniform() < TEXTURE_SHARE:
            background = texture_background(rng, length)
        else:
            start = int(rng.integers(0, max(len(sample) - length, 0) + 1))
            indices = np.arange(start, start + length) % len(sample)
            background = crop_background(sample[indices], rng)
        qp = QPS[recording % len(QPS)]
        video = target / f"recording_{recording:03d}.mp4"
        encode(render_recording(actions, background, rng), qp, video, codec="h264", gop=WINDOW, fps=FPS)
        labels[video.name] = {"qp": qp, "actions": actions}
        for window, action in zip(read_windows(video, with_frames=True), classes, strict=True):
            for key in FEATURES:
                arrays[key].append(getattr(window, key))
            arrays["label"].append(np.int64(action))
            arrays["recording"].append(np.int64(recording))
            arrays["qp"].append(np.int64(qp))
        if on_recording:
            on_recording(recording)
    with atomic_output(features) as temporary, temporary.open("wb") as handle:
        np.savez(handle, **{key: np.stack(values) for key, values in arrays.items()})
    labelled = {"actions": list(ACTIONS), "recordings": labels}
    write_text_atomic(target / "labels.json", json.dumps(labelled, indent=1))
    write_text_atomic(stamp, json.dumps(settings))
    return features


TILES = (3, 3)  # (rows, cols) of FRAME_SIZE crops of the 768x576 sample: nine real "cameras"
TILE_QP = 28


def build_tiles(folder: Path, split: str, frames: int | None = None) -> list[Path]:
    """The split's frames of the sample (the first `frames` of them, or all) cut into TILES crops
    of FRAME_SIZE (no scaling: people keep their real size), each coded as its own H.264 stream
    (QP TILE_QP, GOP WINDOW) into folder/tiles-<split>[-<frames>]/; existing streams are kept."""
    target = folder / (f"tiles-{split}" if frames is None else f"tiles-{split}-{frames}")
    paths = [target / f"tile_{row}{col}.mp4" for row in range(TILES[0]) for col in range(TILES[1])]
    if all(path.exists() for path in paths):
        return paths
    target.mkdir(parents=True, exist_ok=True)
    width, height = FRAME_SIZE
    start, stop = SPLITS[split]
    stop = stop if frames is None else min(stop, start + frames)
    partial = [path.with_suffix(".partial") for path in paths]  # renamed into place when complete
    encoders = [Encoder(path, width, height, codec="h264", gop=WINDOW, fps=FPS, format="mp4")
                for path in partial]
    qp = QPMap(base=TILE_QP)
    for picture in sample_frames(start, stop):
        for number, encoder in enumerate(encoders):
            row, col = divmod(number, TILES[1])
            encoder.write(picture[row * height:(row + 1) * height, col * width:(col + 1) * width], qp)
    for encoder, temporary, path in zip(encoders, partial, paths, strict=True):
        encoder.close()
        temporary.replace(path)
    return paths
