"""The pre-editor: a small convolutional network that decides, pixel by pixel, how much
detail to take out of a frame before it is coded.

The edit is a residual: edited = x + sum_k w_k (blur_k(x) - x), where blur_k are Gaussian
smoothings of the frame (sigmas in SMOOTHING_SIGMAS, pixels) and w = softmax of the
network's logits over [keep, blur_1, ..., blur_K] per pixel, shared by the three colour
channels. So the editor can only remove detail (nothing a coder must then pay for can
be added), and how much, where, is what it learns. The network reads the frame at a
quarter of the resolution (pixel unshuffle: 3 -> 48 channels) with depthwise-separable
convolutions; its logits are upsampled bilinearly to full resolution. The head starts at
zero with a strong bias for "keep", so an untrained pre-editor is the identity on 8-bit
frames.

A residual pre-editor (residual=B > 0) may also add a bounded learned correction:
edited += B tanh(r), r (B, 1, H, W) from a second head at the network's quarter resolution,
pixel-shuffled to full resolution and added alike to R, G and B (so it can sharpen, flatten
or reshape detail, not only smooth it; |correction| <= B, in [0, 1] units). It changes
brightness, never colour: every metric vcm judges people by (PSNR-Y, MS-SSIM, VMAF, VMAF-NEG)
reads luma only, so a change of colour would go unjudged (a per-colour correction was seen
to leave colour blotches in x265's output on a grey film). Its head starts at zero: the
identity still.

A QP-aware pre-editor (qp_aware=True) is also told the QP each 16x16 block will be coded
at: the map, as (QP - QP_CENTRE) / QP_SCALE, is one more input channel of the network, and
a learned slope per class adds it to the logits (so "blur more where the QP is high" is
one parameter away). It is trained under random per-block maps and, in a pipeline, edits
each frame after the planner has chosen its map.
"""

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vcm.codec.qpmap import BLOCK_SIZE
from vcm.errors import InputError

GROUP = 4
SHIPPED_MODELS = Path(__file__).parent / "models"
SHIPPED = {"machines": "machines.pt", "people": "people.pt"}  # name -> file in SHIPPED_MODELS
DEFAULT_MODEL = "machines"
SMOOTHING_SIGMAS = (0.6, 1.2, 2.4)
KEEP_BIAS = 8.0  # initial logit of "keep": the blurs start with weight e^-8 each
KEEP_MARGIN = 8  # pixels around a kept box that stay unedited too
NEGLIGIBLE_WEIGHT = 1 / 1024  # at inference, a smoothing weighted below this everywhere is skipped
LARGEST_RELATIVE_LOGIT = 80.0  # at inference, e^80 is still finite in float32
QP_CENTRE, QP_SCALE = 32.0, 8.0  # a QP-aware editor reads (QP - QP_CENTRE) / QP_SCALE
NEEDS_QP = "this pre-editor is QP-aware: it needs the QP map the frame is coded with"

Box = tuple[float, float, float, float]


def blur_radius(sigma: float) -> int:
    """Taps on each side of the centre of a Gaussian of `sigma` pixels."""
    return max(1, int(3 * sigma + 0.5))


def gaussian_blur(rgb: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) -> the same shape, separable Gaussian of `sigma` pixels, edges replicated
    (as weighted sums of shifted copies: faster than a depthwise convolution on CPU)."""
    radius = blur_radius(sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-(offsets**2) / (2 * sigma**2))
    taps = (taps / taps.sum()).tolist()
    height, width = rgb.shape[-2:]
    padded = F.pad(rgb, (radius, radius, radius, radius), mode="replicate")
    rows = sum(tap * padded[..., :, index:index + width] for index, tap in enumerate(taps))
    return sum(tap * rows[..., index:index + height, :] for index, tap in enumerate(taps))


def qp_plane(qp_blocks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, rows, cols) QPs per 16x16 block -> (B, 1, height, width) normalised QP at the
    network's 1/GROUP resolution (each block covers BLOCK_SIZE/GROUP cells; cropped to size)."""
    repeat = BLOCK_SIZE // GROUP
    cells = qp_blocks.float().repeat_interleave(repeat, dim=1).repeat_interleave(repeat, dim=2)
    if cells.shape[1] < height or cells.shape[2] < width:
        raise ValueError(f"a QP map of {tuple(qp_blocks.shape[1:])} blocks does not cover the frame")
    return ((cells[:, :height, :width] - QP_CENTRE) / QP_SCALE)[:, None]


class PreEditor(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] (and, when qp_aware, (B, rows, cols) QPs per 16x16 block,
    rows, cols = ceil(H/16), ceil(W/16)) -> edited (B, 3, H, W) in [0, 1] (H, W any size)."""

    def __init__(self, width: int = 32, depth: int = 3, qp_aware: bool = False,
                 residual: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= residual <= 1.0:
            raise ValueError(f"the residual bound must lie in [0, 1], got {residual}")
        self.width, self.depth, self.qp_aware, self.residual = width, depth, qp_aware, residual
        inputs = 3 * GROUP * GROUP + (1 if qp_aware else 0)
        layers: list[nn.Module] = [nn.Conv2d(inputs, width, 1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1, groups=width), nn.Conv2d(width, width, 1),
                       nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1 + len(SMOOTHING_SIGMAS), 1)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[0] = KEEP_BIAS
        # logits += qp_slope x normalised QP (a QP-aware editor only)
        self.qp_slope = nn.Parameter(torch.zeros(1 + len(SMOOTHING_SIGMAS))) if qp_aware else None
        self.correction = nn.Conv2d(width, GROUP * GROUP, 1) if residual > 0 else None
        if self.correction is not None:
            nn.init.zeros_(self.correction.weight)
            nn.init.zeros_(self.correction.bias)

    def decide_quarter(self, features: torch.Tensor, qp_blocks: torch.Tensor | None = None) -> tuple[
            torch.Tensor, torch.Tensor | None]:
        """The frame padded to a multiple of GROUP and pixel-unshuffled, (B, 3 GROUP^2, H', W') in
        [0, 1] (and QPs (B, rows, cols) when qp_aware) -> what the network decides at that 1/GROUP
        resolution: (B, 1 + K, H', W') logits of [keep, blur_1..K] and (B, GROUP^2, H', W') the
        bounded correction in [-residual, residual], pixel-unshuffled (None without one)."""
        if self.qp_slope is not None:
            if qp_blocks is None:
                raise ValueError(NEEDS_QP)
            qp = qp_plane(qp_blocks.to(features.device), *features.shape[-2:])
            hidden = self.body(torch.cat([features, qp], dim=1))
            logits = self.head(hidden) + self.qp_slope.view(1, -1, 1, 1) * qp
        else:
            hidden = self.body(features)
            logits = self.head(hidden)
        if self.correction is None:
            return logits, None
        return logits, self.residual * torch.tanh(self.correction(hidden))

    def decide(self, rgb: torch.Tensor,
               qp_blocks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, 3, H, W) (and QPs when qp_aware) -> (B, 1 + K, H, W) per-pixel weights of [keep,
        blur_1..K], summing to 1 (the logits upsampled bilinearly), and (B, 1, H, W) the bounded
        correction, the same for every colour (None for an editor without one)."""
        height, width = rgb.shape[-2:]
        padded = F.pad(rgb, (0, -width % GROUP, 0, -height % GROUP), mode="replicate")
        logits, correction = self.decide_quarter(F.pixel_unshuffle(padded, GROUP), qp_blocks)
        full = (logits.shape[-2] * GROUP, logits.shape[-1] * GROUP)
        logits = F.interpolate(logits, size=full, mode="bilinear", align_corners=False)
        weights = torch.softmax(logits[..., :height, :width], dim=1)
        if correction is None:
            return weights, None
        return weights, F.pixel_shuffle(correction, GROUP)[..., :height, :width]

    def blend_weights(self, rgb: torch.Tensor, qp_blocks: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, H, W) (and QPs when qp_aware) -> (B, 1 + K, H, W) weights of [keep, blur_1..K]."""
        return self.decide(rgb, qp_blocks)[0]

    def forward(self, rgb: torch.Tensor, qp_blocks: torch.Tensor | None = None) -> torch.Tensor:
        weights, correction = self.decide(rgb, qp_blocks)
        edited = rgb if correction is None else rgb + correction
        for index, sigma in enumerate(SMOOTHING_SIGMAS, start=1):
            edited = edited + weights[:, index:index + 1] * (gaussian_blur(rgb, sigma) - rgb)
        return edited.clamp(0.0, 1.0)

    def _decide_cells(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """One frame's decide_quarter on the CPU: (C, H', W') float32 network input (the
        unshuffled frame, and the normalised QP plane last when qp_aware) -> (1 + K, H', W')
        logits without the QP slope, and the (GROUP^2, H', W') correction (None without one).
        Pointwise convolutions run as matrix products and depthwise ones through OpenCV, each
        several times faster on the CPU than PyTorch's convolutions."""
        rows, cols = features.shape[1:]
        hidden = torch.from_numpy(features.reshape(len(features), rows * cols))
        for layer in self.body:
            if isinstance(layer, nn.ReLU):
                hidden.relu_()
            elif layer.groups == 1:
                hidden = torch.addmm(layer.bias[:, None], layer.weight[:, :, 0, 0], hidden)
            else:
                planes = hidden.numpy().reshape(-1, rows, cols)
                kernels, biases = layer.weight.detach().numpy(), layer.bias.detach().numpy()
                convolved = np.empty_like(planes)
                for channel, plane in enumerate(planes):  # cross-correlation with zero padding, as Conv2d
                    cv2.filter2D(plane, -1, kernels[channel, 0], dst=convolved[channel],
                                 delta=float(biases[channel]), borderType=cv2.BORDER_CONSTANT)
                hidden = torch.from_numpy(convolved.reshape(len(convolved), rows * cols))
        logits = torch.addmm(self.head.bias[:, None], self.head.weight[:, :, 0, 0], hidden)
        if self.correction is None:
            return logits.view(-1, rows, cols).numpy(), None
        correction = torch.addmm(self.correction.bias[:, None], self.correction.weight[:, :, 0, 0], hidden)
        bounded = self.residual * correction.tanh_()
        return logits.view(-1, rows, cols).numpy(), bounded.view(-1, rows, cols).numpy()

    @torch.inference_mode()
    def edit_frame(self, frame: np.ndarray, qp_blocks: np.ndarray | None = None) -> np.ndarray:
        """(H, W, 3) uint8 RGB (and its (rows, cols) block QPs when qp_aware) -> the edited frame,
        (H, W, 3) uint8: forward's edit on the CPU, the network through _decide_cells and the
        full-resolution work (upsampling, softmax, smoothing, blending) through OpenCV; a
        smoothing whose weight stays below NEGLIGIBLE_WEIGHT everywhere is left out."""
        if self.qp_slope is not None and qp_blocks is None:
            raise ValueError(NEEDS_QP)
        height, width = frame.shape[:2]
        padded = np.pad(frame, ((0, -height % GROUP), (0, -width % GROUP), (0, 0)), mode="edge")
        rows, cols = padded.shape[0] // GROUP, padded.shape[1] // GROUP
        # pixel unshuffle on the bytes: channel c * GROUP^2 + i * GROUP + j holds pixel (i, j) of each cell
        cells = padded.reshape(rows, GROUP, cols, GROUP, 3).transpose(4, 1, 3, 0, 2)
        features = cells.reshape(3 * GROUP * GROUP, rows, cols).astype(np.float32) * np.float32(1 / 255)
        qp = None
        if self.qp_slope is not None:
            qp = qp_plane(torch.from_numpy(np.asarray(qp_blocks))[None], rows, cols)[0].numpy()
            features = np.concatenate([features, qp])
        logits, correction = self._decide_cells(features)
        if qp is not None:
            logits += self.qp_slope.detach().numpy()[:, None, None] * qp
        # each smoothing's logit relative to keep's: its weight is e^d / (1 + sum of e^d), and never
        # exceeds sigmoid(d) (bilinear interpolation included): one below NEGLIGIBLE_WEIGHT in every
        # cell is left out
        relative = {index: logits[index] - logits[0] for index in range(1, len(logits))}
        threshold = float(np.log(NEGLIGIBLE_WEIGHT / (1 - NEGLIGIBLE_WEIGHT)))
        used = [index for index, plane in relative.items() if plane.max() >= threshold]
        pixels = frame.astype(np.float32)
        edited = pixels
        if used:
            size = (cols * GROUP, rows * GROUP)  # OpenCV's (width, height)
            exponentials = {index: cv2.exp(cv2.min(cv2.resize(relative[index], size)[:height, :width],
                                                   LARGEST_RELATIVE_LOGIT)) for index in used}
            keep = 1 / (1 + sum(exponentials.values()))
            blended = keep  # the weight already in `edited`
            for index in used:
                sigma, weight = SMOOTHING_SIGMAS[index - 1], exponentials[index] * keep
                side = 2 * blur_radius(sigma) + 1
                smoothed = cv2.GaussianBlur(pixels, (side, side), sigma, borderType=cv2.BORDER_REPLICATE)
                # (weight x smoothed + blended x edited) / (weight + blended), per pixel
                edited = cv2.blendLinear(smoothed, edited, weight, blended)
                blended = blended + weight
        if correction is None:
            return cv2.convertScaleAbs(edited)  # rounded; a blend of pixels is never negative
        shuffled = correction.reshape(GROUP, GROUP, rows, cols).transpose(2, 0, 3, 1)
        levels = shuffled.reshape(rows * GROUP, cols * GROUP)[:height, :width] * np.float32(255)
        return cv2.add(edited, cv2.merge([levels] * 3), dtype=cv2.CV_8U)  # rounded, saturated at 0 and 255

    def edit_frames(self, frames: np.ndarray | Sequence[np.ndarray],
                    keep: Sequence[Sequence[Box]] | None = None,
                    qp_maps: Sequence[np.ndarray] | None = None,
                    keep_blocks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> edited (N, H, W, 3) uint8, one frame at a time (edit_frame).
        keep: per frame, boxes (x1, y1, x2, y2 in pixels) left as they are, widened by
        KEEP_MARGIN pixels (e.g. what the detector found on the original). qp_maps: per
        frame, its (rows, cols) block QPs (needed by a QP-aware editor, ignored otherwise).
        keep_blocks: per frame, a (rows, cols) bool mask of 16x16 blocks left as they are."""
        if self.qp_aware and qp_maps is None:
            raise ValueError("this pre-editor is QP-aware: it needs the QP map of every frame")
        edited = np.empty_like(np.asarray(frames))
        for index, frame in enumerate(frames):
            qp = qp_maps[index] if self.qp_aware and qp_maps is not None else None
            edited[index] = self.edit_frame(frame, qp)
            for box in keep[index] if keep is not None else ():
                rows, cols = _widened(box, frame.shape[0], frame.shape[1])
                edited[index, rows, cols] = frame[rows, cols]
            if keep_blocks is not None and keep_blocks[index].any():
                pixels = np.kron(keep_blocks[index], np.ones((BLOCK_SIZE, BLOCK_SIZE), dtype=bool))
                kept = pixels[:frame.shape[0], :frame.shape[1]]
                edited[index][kept] = frame[kept]
        return edited

    def config(self) -> dict[str, int | bool | float]:
        return {"width": self.width, "depth": self.depth, "qp_aware": self.qp_aware,
                "residual": self.residual}


def _widened(box: Box, height: int, width: int) -> tuple[slice, slice]:
    """Row and column slices of a box widened by KEEP_MARGIN and clipped to the frame."""
    x1, y1, x2, y2 = box
    rows = slice(max(int(y1) - KEEP_MARGIN, 0), min(int(np.ceil(y2)) + KEEP_MARGIN, height))
    cols = slice(max(int(x1) - KEEP_MARGIN, 0), min(int(np.ceil(x2)) + KEEP_MARGIN, width))
    return rows, cols


def model_path(model: str | Path) -> Path:
    """The file of a model: a name in SHIPPED is one shipped with vcm, anything else is a path."""
    return SHIPPED_MODELS / SHIPPED[str(model)] if str(model) in SHIPPED else Path(model)


def load_preeditor(model: str | Path = DEFAULT_MODEL) -> PreEditor:
    """A trained pre-editor: a name in SHIPPED or a model file written by `vcm preedit train`."""
    path = model_path(model)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = PreEditor(**payload["config"])
        network.load_state_dict(payload["weights"])
    except FileNotFoundError:
        hint = " (the shipped model is missing: reinstall vcm)" if str(model) in SHIPPED else ""
        raise InputError(f"no such pre-editor model: {path}{hint}") from None
    except Exception as error:  # torch.load of an arbitrary file fails in arbitrary ways
        raise InputError(f"{path} is not a vcm pre-editor model ({type(error).__name__})") from None
    return network.eval()
