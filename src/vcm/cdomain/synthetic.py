"""Synthetic action clips with exact labels: an articulated figure (capsule limbs, head, clothes)
performing one of ACTIONS over real surveillance backgrounds (consecutive frames of the sample,
so real people move behind it) or a smooth random texture.

Every window of WINDOW frames holds one action instance; `render_recording` strings several
windows with one figure into a recording that is coded as one H.264 stream (GOP = WINDOW).
Angles are radians from straight down, positive towards +x; lengths are fractions of the
figure's height.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

ACTIONS = ("stand", "walk_left", "walk_right", "wave", "jump", "sit_down", "fall")
WINDOW = 16  # frames per labelled window (1.6 s at 10 fps)
FRAME_SIZE = (256, 192)  # (width, height) of rendered clips
TORSO, UPPER_ARM, FOREARM, THIGH, SHIN, HEAD = 0.30, 0.15, 0.14, 0.24, 0.24, 0.075
LIMB_RADIUS, TORSO_RADIUS = 0.035, 0.06
SKIN_TONES = ((241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172))


@dataclass
class Pose:
    """One frame of the figure: pelvis position (x, y) in pixels, torso angle from straight up,
    per side (left, right) shoulder, elbow (relative to the upper arm), hip and knee (relative
    to the thigh) angles, and a rigid rotation `tilt` of the whole body about its feet."""

    pelvis: tuple[float, float]
    torso: float = 0.0
    shoulders: tuple[float, float] = (0.15, -0.15)
    elbows: tuple[float, float] = (0.1, -0.1)
    hips: tuple[float, float] = (0.05, -0.05)
    knees: tuple[float, float] = (0.0, 0.0)
    tilt: float = 0.0


@dataclass(frozen=True)
class Figure:
    """Appearance: height in pixels and RGB colours of shirt, trousers and skin."""

    height: float
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]


def _towards(angle: float) -> np.ndarray:
    """Unit vector (x, y-down) of a limb `angle` radians from straight down."""
    return np.array([np.sin(angle), np.cos(angle)])


Capsule = tuple[np.ndarray, np.ndarray, float, tuple[int, int, int]]


def capsules(pose: Pose, figure: Figure) -> list[Capsule]:
    """The figure as (start, end, radius px, colour) capsules, legs first (drawn behind)."""
    size = figure.height
    pelvis = np.array(pose.pelvis, dtype=float)
    neck = pelvis + TORSO * size * _towards(np.pi + pose.torso)
    parts = []
    for side in (0, 1):
        knee = pelvis + THIGH * size * _towards(pose.hips[side])
        foot = knee + SHIN * size * _towards(pose.hips[side] + pose.knees[side])
        parts += [(pelvis, knee, LIMB_RADIUS * size * 1.2, figure.trousers),
                  (knee, foot, LIMB_RADIUS * size, figure.trousers)]
    parts.append((pelvis, neck, TORSO_RADIUS * size, figure.shirt))
    for side in (0, 1):
        elbow = neck + UPPER_ARM * size * _towards(pose.shoulders[side])
        hand = elbow + FOREARM * size * _towards(pose.shoulders[side] + pose.elbows[side])
        parts += [(neck, elbow, LIMB_RADIUS * size, figure.shirt), (elbow, hand, LIMB_RADIUS * size * 0.9,
                                                                     figure.skin)]
    head = neck + (HEAD + 0.02) * size * _towards(np.pi + pose.torso)
    parts.append((head, head, HEAD * size, figure.skin))
    if pose.tilt:
        feet = pelvis + (THIGH + SHIN) * size * np.array([0.0, 1.0])
        turn = np.array([[np.cos(pose.tilt), -np.sin(pose.tilt)], [np.sin(pose.tilt), np.cos(pose.tilt)]])
        parts = [(feet + turn @ (a - feet), feet + turn @ (b - feet), r, c) for a, b, r, c in parts]
    return parts


def draw_figure(canvas: np.ndarray, pose: Pose, figure: Figure) -> None:
    """Paint the figure into (H, W, 3) float32 `canvas` in place, anti-aliased by one pixel."""
    height, width = canvas.shape[:2]
    for start, end, radius, colour in capsules(pose, figure):
        low = np.floor(np.minimum(start, end) - radius - 1).astype(int)
        high = np.ceil(np.maximum(start, end) + radius + 1).astype(int)
        x0, y0 = max(low[0], 0), max(low[1], 0)
        x1, y1 = min(high[0], width), min(high[1], height)
        if x1 <= x0 or y1 <= y0:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        axis = end - start
        along = ((xs - start[0]) * axis[0] + (ys - start[1]) * axis[1]) / max(axis @ axis, 1e-9)
        along = np.clip(along, 0, 1)
        distance = np.hypot(xs - start[0] - along * axis[0], ys - start[1] - along * axis[1])
        alpha = np.clip(radius + 0.5 - distance, 0, 1)[..., None]
        region = canvas[y0:y1, x0:x1]
        region += alpha * (np.asarray(colour, dtype=np.float32) - region)


def _smooth(progress: np.ndarray) -> np.ndarray:
    return progress * progress * (3 - 2 * progress)


def action_poses(action: str, rng: np.random.Generator, figure: Figure, ground: float, x: float,
                 length: int = WINDOW) -> list[Pose]:
    """`length` poses of one instance of `action` for a figure standing on y = `ground` at
    x (walkers start there); timing, amplitude and side drawn from `rng`."""
    size = figure.height
    stand_y = ground - (THIGH + SHIN) * size
    frames = np.arange(length, dtype=float)
    sway = 0.01 * size * np.sin(2 * np.pi * (frames / rng.uniform(12, 24) + rng.uniform()))
    if action == "stand":
        arm = rng.uniform(-0.1, 0.1)
        return [Pose((x + s, stand_y), shoulders=(0.15 + arm, -0.15 + arm)) for s in sway]
    if action in ("walk_left", "walk_right"):
        direction = -1 if action == "walk_left" else 1
        period, phase0 = rng.uniform(8, 12), rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(0.025, 0.045) * size
        poses = []
        for i in frames:
            phase = 2 * np.pi * i / period + phase0
            swing = 0.45 * np.sin(phase)
            poses.append(Pose((x + direction * speed * i, stand_y + 0.015 * size * abs(np.cos(phase))),
                              torso=direction * 0.08, shoulders=(-swing, swing), elbows=(0.2, 0.2),
                              hips=(swing, -swing),
                              knees=(-0.6 * max(0.0, np.sin(phase + np.pi / 2)),
                                     -0.6 * max(0.0, np.sin(phase - np.pi / 2)))))
        return poses
    if action == "wave":
        side, period, phase0 = int(rng.integers(2)), rng.uniform(5, 8), rng.uniform(0, 2 * np.pi)
        raised = (1 if side == 0 else -1) * rng.uniform(2.3, 2.8)
        poses = []
        for i, s in zip(frames, sway, strict=True):
            shoulders, elbows = [0.15, -0.15], [0.1, -0.1]
            shoulders[side], elbows[side] = raised, 0.7 * np.sin(2 * np.pi * i / period + phase0)
            poses.append(Pose((x + s, stand_y), shoulders=(shoulders[0], shoulders[1]),
                              elbows=(elbows[0], elbows[1])))
        return poses
    if action == "jump":
        period, phase0, lift = rng.uniform(8, 12), rng.uniform(), rng.uniform(0.25, 0.4) * size
        poses = []
        for i in frames:
            phase = (i / period + phase0) % 1.0
            crouch = np.sin(np.pi * phase / 0.25) if phase < 0.25 else (
                np.sin(np.pi * (phase - 0.75) / 0.25) if phase > 0.75 else 0.0)
            flight = np.sin(np.pi * (phase - 0.25) / 0.5) if 0.25 <= phase <= 0.75 else 0.0
            bend = 0.9 * crouch
            drop = THIGH * size * (1 - np.cos(bend / 2)) * 1.5
            arms = 0.4 + 2.0 * flight
            poses.append(Pose((x, stand_y - lift * flight + drop), torso=0.15 * crouch,
                              shoulders=(arms, -arms), hips=(-bend / 2, -bend / 2), knees=(bend, bend)))
        return poses
    if action == "sit_down":
        start, duration, facing = rng.uniform(-5, 4), rng.uniform(8, 12), rng.choice([-1.0, 1.0])
        poses = []
        for i in frames:
            done = float(_smooth(np.clip((i - start) / duration, 0, 1)))
            hip, knee = -facing * 1.5 * done, facing * 1.5 * done
            drop = (THIGH + SHIN - SHIN - 0.02) * size * done
            poses.append(Pose((x - facing * 0.1 * size * done, stand_y + drop),
                              torso=facing * 0.35 * np.sin(np.pi * done),
                              shoulders=(0.15 - facing * 0.5 * done, -0.15 - facing * 0.5 * done),
                              hips=(hip + 0.05, hip - 0.05), knees=(knee, knee)))
        return poses
    if action == "fall":
        start, duration, side = rng.uniform(-2, 6), rng.uniform(5, 8), rng.choice([-1.0, 1.0])
        poses = []
        for i in frames:
            done = float(np.clip((i - start) / duration, 0, 1)) ** 2
            flail = 1.8 * done
            poses.append(Pose((x, stand_y), tilt=side * (np.pi / 2 - 0.08) * done,
                              shoulders=(0.15 + flail, -0.15 - flail), knees=(0.3 * done, 0.1 * done)))
        return poses
    raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")


def random_figure(rng: np.random.Generator) -> Figure:
    """A figure 56-110 px tall with random clothes."""
    return Figure(float(rng.uniform(56, 110)), tuple(int(c) for c in rng.integers(0, 256, 3)),
                  tuple(int(c) for c in rng.integers(0, 200, 3)),
                  SKIN_TONES[int(rng.integers(len(SKIN_TONES)))])


def texture_background(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, H, W, 3) float32 of one smooth random colour texture (a static scene)."""
    width, height = FRAME_SIZE
    coarse = rng.uniform(40, 220, (height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.float32)
    return np.repeat(smooth[None], count, axis=0)


def crop_background(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, H, W, 3) float32: one random crop (scale 0.6-1 of the shorter fit, random place and
    mirroring) of every (N, h, w, 3) uint8 real frame, resized to FRAME_SIZE."""
    width, height = FRAME_SIZE
    fit = min(frames.shape[2] / width, frames.shape[1] / height)
    scale = fit * rng.uniform(0.6, 1.0)
    crop_w, crop_h = int(width * scale), int(height * scale)
    left = int(rng.integers(0, frames.shape[2] - crop_w + 1))
    top = int(rng.integers(0, frames.shape[1] - crop_h + 1))
    mirror = bool(rng.integers(2))
    out = np.empty((len(frames), height, width, 3), dtype=np.float32)
    for index, frame in enumerate(frames):
        crop = Image.fromarray(frame[top:top + crop_h, left:left + crop_w]).resize((width, height),
                                                                                    Image.BILINEAR)
        out[index] = np.asarray(crop.transpose(Image.FLIP_LEFT_RIGHT) if mirror else crop, dtype=np.float32)
    return out


def render_recording(actions: list[str], background: np.ndarray, rng: np.random.Generator,
                     noise: float = 2.0) -> np.ndarray:
    """(len(actions) * WINDOW, H, W, 3) uint8: one figure performing `actions` in turn, one
    window each, over (same length, H, W, 3) float32 `background`, with Gaussian sensor noise."""
    width, height = FRAME_SIZE
    figure = random_figure(rng)
    frames = background.copy()
    for window, action in enumerate(actions):
        ground = rng.uniform(0.62, 0.97) * height
        travel = 0.05 * figure.height * WINDOW if action.startswith("walk") else 0.0
        x = rng.uniform(0.15 * width, 0.85 * width)
        if action == "walk_left":
            x = max(x, travel + 0.1 * width)
        elif action == "walk_right":
            x = min(x, width - travel - 0.1 * width)
        for offset, pose in enumerate(action_poses(action, rng, figure, ground, x)):
            draw_figure(frames[window * WINDOW + offset], pose, figure)
    frames += rng.normal(0, noise, frames.shape).astype(np.float32)
    return np.clip(frames + 0.5, 0, 255).astype(np.uint8)
