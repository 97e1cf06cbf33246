"""Entropy models of the hyperprior codec and their arithmetic coding (constriction's range coder).

z (the side information) has a learned factorised density per channel (Balle et al. 2018,
appendix 6.1); y is Gaussian given z, with a mean and a scale per element (Minnen et al.
2018 without the context model). Scales are snapped to a fixed table when coding, so the
encoder and decoder derive the same coding model from the same decoded z.
"""

import math

import constriction
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LIKELIHOOD_FLOOR = 1e-9
SCALE_FLOOR = 0.11
SCALE_TABLE = np.exp(np.linspace(math.log(SCALE_FLOOR), math.log(64.0), 64))
Z_RANGE = 48  # z symbols are clamped to [-Z_RANGE, Z_RANGE]
Y_RANGE = 255  # y residual symbols round(y - mean) are clamped to [-Y_RANGE, Y_RANGE]


class FactorizedDensity(nn.Module):
    """A learned univariate density per channel, as a monotone cumulative (B, C, H, W) -> (B, C, H, W)
    likelihoods of integer-spaced values."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for index in range(len(widths) - 1):
            start = math.log(math.expm1(1 / scale / widths[index + 1]))
            matrix = torch.full((channels, widths[index + 1], widths[index]), start)
            self.matrices.append(nn.Parameter(matrix))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[index + 1], 1) - 0.5))
            if index < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[index + 1], 1)))

    def cumulative_logits(self, values: torch.Tensor) -> torch.Tensor:
        """(C, 1, N) values -> (C, 1, N) logits of the cumulative distribution at them."""
        x = values
        for index, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if index < len(self.factors):
                x = x + torch.tanh(self.factors[index]) * torch.tanh(x)
        return x

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = z.shape
        values = z.permute(1, 0, 2, 3).reshape(channels, 1, -1)
        lower = self.cumulative_logits(values - 0.5)
        upper = self.cumulative_logits(values + 0.5)
        sign = -torch.sign(lower + upper).detach()
        likelihood = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        likelihood = likelihood.reshape(channels, batch, height, width).permute(1, 0, 2, 3)
        return likelihood.clamp(min=LIKELIHOOD_FLOOR)

    def probability_table(self) -> np.ndarray:
        """(C, 2 Z_RANGE + 1) float64 probabilities of the integers -Z_RANGE..Z_RANGE, the two
        ends taking the tails."""
        channels = self.matrices[0].shape[0]
        values = torch.arange(-Z_RANGE, Z_RANGE + 1, dtype=torch.float32).expand(channels, 1, -1)
        with torch.no_grad():
            cdf_upper = torch.sigmoid(self.cumulative_logits(values + 0.5))[:, 0].double()
        cdf_upper[:, -1] = 1.0
        cdf_lower = torch.cat([torch.zeros_like(cdf_upper[:, :1]), cdf_upper[:, :-1]], dim=1)
        table = (cdf_upper - cdf_lower).clamp(min=LIKELIHOOD_FLOOR).numpy()
        return table / table.sum(axis=1, keepdims=True)


def gaussian_likelihood(values: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Probability mass of the unit interval around each value under N(mean, scale), same shapes."""
    scales = scales.clamp(min=SCALE_FLOOR)
    centred = (values - means).abs()
    normal = torch.distributions.Normal(0.0, 1.0)
    upper = normal.cdf((0.5 - centred) / scales)
    lower = normal.cdf((-0.5 - centred) / scales)
    return (upper - lower).clamp(min=LIKELIHOOD_FLOOR)


def snap_scales(scales: torch.Tensor) -> np.ndarray:
    """Scales -> float64 values of SCALE_TABLE (the smallest entry at least as large), flattened."""
    flat = scales.detach().double().flatten().numpy()
    index = np.searchsorted(SCALE_TABLE, flat).clip(0, len(SCALE_TABLE) - 1)
    return SCALE_TABLE[index]


def _to_bytes(words: np.ndarray) -> bytes:
    return words.astype("<u4").tobytes()


def _to_words(data: bytes) -> np.ndarray:
    if len(data) % 4:
        raise ValueError("a range-coded string must be a whole number of 32-bit words")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def encode_z(symbols: torch.Tensor, table: np.ndarray) -> bytes:
    """(1, C, h, w) integer z in [-Z_RANGE, Z_RANGE] -> bytes, each channel coded with its row of `table`."""
    channels = symbols.shape[1]
    flat = symbols[0].reshape(channels, -1)
    probabilities = np.repeat(table, flat.shape[1], axis=0)
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode((flat.flatten().numpy() + Z_RANGE).astype(np.int32),
                   constriction.stream.model.Categorical(perfect=False), probabilities)
    return _to_bytes(encoder.get_compressed())


def decode_z(data: bytes, shape: tuple[int, int, int], table: np.ndarray) -> torch.Tensor:
    """Inverse of encode_z: bytes and (C, h, w) -> (1, C, h, w) float z."""
    channels, height, width = shape
    probabilities = np.repeat(table, height * width, axis=0)
    decoder = constriction.stream.queue.RangeDecoder(_to_words(data))
    symbols = decoder.decode(constriction.stream.model.Categorical(perfect=False), probabilities)
    values = torch.from_numpy(symbols.astype(np.float32) - Z_RANGE)
    return values.reshape(1, channels, height, width)


def encode_y(residuals: torch.Tensor, scales: torch.Tensor) -> bytes:
    """Integer residuals round(y - mean) in [-Y_RANGE, Y_RANGE] and their scales -> bytes."""
    snapped = snap_scales(scales)
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(residuals.flatten().numpy().astype(np.int32),
                   constriction.stream.model.QuantizedGaussian(-Y_RANGE, Y_RANGE),
                   np.zeros_like(snapped), snapped)
    return _to_bytes(encoder.get_compressed())


def decode_y(data: bytes, scales: torch.Tensor) -> torch.Tensor:
    """Inverse of encode_y -> float residuals shaped like `scales`."""
    snapped = snap_scales(scales)
    decoder = constriction.stream.queue.RangeDecoder(_to_words(data))
    symbols = decoder.decode(constriction.stream.model.QuantizedGaussian(-Y_RANGE, Y_RANGE),
                             np.zeros_like(snapped), snapped)
    return torch.from_numpy(symbols.astype(np.float32)).reshape(scales.shape)
