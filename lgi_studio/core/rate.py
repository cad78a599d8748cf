"""Rate against distortion: which of two files an encoder should keep, and which Gaussians are worth their bits.

Two candidate files rarely have exactly the same size, so "better" means better PSNR at the same bytes. Near a
point the rate-distortion curve is a straight line in log-rate; its slope converts a small size difference
into decibels. Measured on the Kodak benchmark's mean ``lgi-sq-auto`` curve (docs/rate-distortion.md):
2.8 dB per unit of ln(bpp) between 0.15 and 0.25 bpp, 3.1 between 0.25 and 0.35, 3.4 between 0.35 and 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from lgi_kernels import RenderMode, rasterize_backward, rasterize_forward

from .metrics import psnr_8bit
from .model import COV_FLOOR_PX2, Gaussians
from .schemes import Quantized, scheme_of
from .shape import covariance_px

SLOPE_DB_PER_LN_RATE = 3.0
"""dB gained per unit of ln(bytes) along our Kodak curve at 0.15-0.5 bpp (the module docstring)."""
PRUNE_SLOPE_DB_PER_LN_RATE = 2.0 * SLOPE_DB_PER_LN_RATE
"""The slope that prices a Gaussian's bits when pruning. A removal cost is counted with every other Gaussian
held, but the colour refit that follows lets the neighbours cover part of it, so the price is twice the
curve's. On four Kodak crops at two counts (500 iterations), at equal bytes: 1x gained 0.07-0.25 dB, 2x
0.09-0.32, 4x -0.02 to +0.33 (docs/rate-distortion.md)."""


@dataclass(frozen=True)
class Candidate:
    """One way to store the picture: its symbols, payload bytes and the PSNR of what a decoder renders."""

    quantized: Quantized
    bytes: int
    psnr: float


def evaluate(quantized: Quantized, image: np.ndarray) -> Candidate:
    """Bytes of the scheme's payload (the container adds the same few bytes to every candidate) and the PSNR
    of the decoded render against ``image``."""
    scheme = scheme_of(quantized)
    render = scheme.dequantize(quantized).render(mode=quantized.mode)
    return Candidate(quantized, len(scheme.pack(quantized)), psnr_8bit(render, image))


def psnr_at_rate(psnr: float, nbytes: int, reference_bytes: int, slope: float = SLOPE_DB_PER_LN_RATE) -> float:
    """``psnr`` moved along the local curve to the rate of ``reference_bytes``: a file 1% larger must be
    about 0.03 dB better to count as better."""
    return psnr - slope * math.log(max(nbytes, 1) / max(reference_bytes, 1))


def best(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate with the best PSNR at the first one's rate; the first wins ties (the safe default)."""
    reference = candidates[0].bytes
    scores = [psnr_at_rate(c.psnr, c.bytes, reference) for c in candidates]
    return candidates[int(np.argmax(scores))]


def removal_costs(gaussians: Gaussians, image: np.ndarray) -> np.ndarray:
    """``[N]`` float64: how much the summed squared error of a sum render grows if each Gaussian alone were
    removed (negative: the picture is better without it). Removing Gaussian i subtracts ``F_i c_i`` from the
    render, so the error grows by ``|F_i c_i|^2 - 2 <e, F_i c_i>``: the first term is its colour's squared
    norm times its footprint energy (pi sqrt(det) of its covariance with the render's floor, in pixels), the
    second one backward pass of the residual ``e``."""
    settings = gaussians.raster_settings(mode=RenderMode.ACCUMULATED_SUM)
    render, ctx = rasterize_forward(*gaussians.arrays(), settings)
    residual = render - image
    correlation = rasterize_backward(ctx, residual.astype(np.float32)).v_colors.astype(np.float64)  # F^T e
    colours = gaussians.colors.astype(np.float64)
    return footprint_energy(gaussians) * (colours * colours).sum(axis=1) - 2.0 * (colours * correlation).sum(axis=1)


def footprint_energy(gaussians: Gaussians) -> np.ndarray:
    """``[N]``: the sum over the picture's pixels of each Gaussian's squared profile (peak 1), with the
    render's covariance floor: pi sqrt(det) for one well inside the frame, less for one the border cuts
    (the squared profile's share inside, from its x and y marginals)."""
    width, height = gaussians.native_size
    a, b, d = covariance_px(gaussians.chol, width, height).T
    a, d = a + COV_FLOOR_PX2, d + COV_FLOOR_PX2
    whole = np.pi * np.sqrt(np.maximum(a * d - b * b, 0.0))
    means = gaussians.means.astype(np.float64) * np.array([width, height])
    inside = np.ones(len(whole))
    for mean, variance, size in ((means[:, 0], a, width), (means[:, 1], d, height)):
        spread = np.sqrt(variance / 2.0)  # the squared profile's standard deviation
        inside *= ndtr((size - mean) / spread) - ndtr(-mean / spread)
    return whole * inside


def worth_their_bits(gaussians: Gaussians, image: np.ndarray, slope: float = PRUNE_SLOPE_DB_PER_LN_RATE) -> np.ndarray:
    """Mask of the Gaussians whose removal would cost more distortion than their bits are worth.

    Along a curve of ``slope`` dB per ln(rate), a fraction ``f`` of the rate buys ``slope * f`` dB, i.e. a
    relative distortion of ``slope * ln(10) / 10 * f``; a Gaussian carries about ``1 / N`` of the rate, so it
    is worth keeping when removing it adds more than ``slope * ln(10) / 10 * D / N`` to the squared error D.
    """
    settings = gaussians.raster_settings(mode=RenderMode.ACCUMULATED_SUM)
    residual = rasterize_forward(*gaussians.arrays(), settings)[0] - image
    distortion = float(np.sum(residual.astype(np.float64) ** 2))
    threshold = slope * math.log(10.0) / 10.0 * distortion / max(len(gaussians), 1)
    return removal_costs(gaussians, image) >= threshold
