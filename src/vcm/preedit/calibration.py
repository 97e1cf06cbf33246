"""Calibrating the inter proxy's P-frame bits against real x265 bytes.

The zero-motion inter proxy prices a P-frame at a larger share of an I-frame than x265 does
(x265 has skip modes, motion search and adaptive entropy coding; see part `proxy` of the
results). Training on a GOP's rate with that share over-rewards what an edit saves on
P-frames. inter_scale measures the correction on the training frames themselves.
"""

import tempfile
from collections.abc import Sequence
from pathlib import Path
from statistics import median

import numpy as np
import torch

from vcm.codec import QPMap, encode
from vcm.preedit.proxy import BLOCK, proxy_code, proxy_code_inter

CALIBRATION_PAIRS = 8  # crops of consecutive frames coded by both
CALIBRATION_CROP = 256  # their side, pixels (smaller frames: their largest multiple of 16)
CALIBRATION_QPS = 3  # QPs evenly spread over the training range


def inter_scale(pairs: Sequence[np.ndarray], qp_range: tuple[int, int], seed: int = 0) -> float:
    """pairs: (H, W, 6) uint8 consecutive frames. Codes CALIBRATION_PAIRS random crops as
    I + P, by x265 (HEVC, uniform QP, vcm's encoder settings) and by the proxy, at
    CALIBRATION_QPS QPs across qp_range; returns the median over crops and QPs of
    (x265 P bytes / I bytes) / (proxy P bits / I bits): the factor that brings the proxy's
    P-frame share to x265's."""
    generator = np.random.default_rng(seed)
    side = min(CALIBRATION_CROP, *(min(pair.shape[:2]) // BLOCK * BLOCK for pair in pairs))
    qps = sorted({round(float(q)) for q in np.linspace(qp_range[0], qp_range[1], CALIBRATION_QPS)})
    ratios = []
    with tempfile.TemporaryDirectory(prefix="vcm-calibrate-") as folder:
        for index in range(CALIBRATION_PAIRS):
            pair = pairs[int(generator.integers(len(pairs)))]
            top = int(generator.integers(pair.shape[0] - side + 1))
            left = int(generator.integers(pair.shape[1] - side + 1))
            crop = np.ascontiguousarray(pair[top:top + side, left:left + side])
            first, second = crop[..., :3], crop[..., 3:]
            images = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0
            for qp in qps:
                stats = encode([first, second], QPMap(qp), Path(folder) / f"pair{index}.mp4", gop=32).frames
                blocks = torch.full((1, side // BLOCK, side // BLOCK), float(qp))
                with torch.no_grad():
                    intra = proxy_code(images[:, :3], blocks)
                    inter = proxy_code_inter(images[:, 3:], intra.rgb, blocks)
                real = stats[1].bytes / stats[0].bytes
                modelled = float(inter.bits[0]) / max(float(intra.bits[0]), 1.0)
                ratios.append(real / max(modelled, 1e-6))
    return float(median(ratios))
