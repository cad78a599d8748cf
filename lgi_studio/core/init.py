"""Where the first Gaussians go: content-aware placement (the default) or random.

Content-aware: positions are drawn in proportion to the image's gradient magnitude plus a uniform share,
sizes follow the local density of draws (denser where the picture is busy), colours come from the picture.
GaussianImage starts at random and needs ~50k iterations; Image-GS shows that content-aware placement
converges far sooner, which is what a 2-core CPU needs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lgi_kernels import RenderMode

from .model import Gaussians

SIZE_FACTOR = 0.2
"""Sigma as a fraction of the local spacing between Gaussians. Small starts converge faster and cost less
per step than blended ones (measured: 0.2 beat 0.6 by 1.2 dB at 300 iterations, at 2.6x the speed)."""


def gradient_density(image: np.ndarray, uniform_share: float) -> np.ndarray:
    """A probability map ``[H, W]``: smoothed luminance gradient magnitude mixed with a uniform share."""
    luma = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    magnitude = np.hypot(ndimage.sobel(luma, axis=0), ndimage.sobel(luma, axis=1))
    magnitude = ndimage.gaussian_filter(magnitude, 1.0)
    return _mix_with_uniform(magnitude, uniform_share)


def _mix_with_uniform(weights: np.ndarray, uniform_share: float) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    total = float(weights.sum())
    uniform = np.full(weights.shape, 1.0 / weights.size)
    if total <= 0.0 or not np.isfinite(total):
        return uniform
    mixed = (1.0 - uniform_share) * weights / total + uniform_share * uniform
    return mixed / mixed.sum()


def sample_gaussians(
    image: np.ndarray,
    density: np.ndarray,
    n: int,
    rng: np.random.Generator,
    max_sigma_px: float,
) -> Gaussians:
    """Draw ``n`` Gaussians at pixels chosen with probability ``density``, sized by the local spacing.

    Colours are the picture's value under each Gaussian; ``normalize_sum_colors`` then scales them so that
    the overlapping sum reproduces the picture.
    """
    height, width = density.shape
    flat = rng.choice(density.size, size=n, p=density.ravel())
    ys, xs = np.divmod(flat, width)
    jitter = rng.uniform(0.0, 1.0, (n, 2))
    means = np.stack([(xs + jitter[:, 0]) / width, (ys + jitter[:, 1]) / height], axis=1)
    spacing = 1.0 / np.sqrt(n * density.ravel()[flat])  # pixels between neighbouring draws
    sigma = np.clip(SIZE_FACTOR * spacing, 0.5, max_sigma_px)
    chol = np.stack([sigma / width, np.zeros(n), sigma / height], axis=1)
    colors = image[ys, xs]
    return Gaussians(means, chol, colors, np.full(n, 0.8), native_size=(width, height))


def normalize_sum_colors(gaussians: Gaussians, image: np.ndarray, sweeps: int = 3) -> None:
    """Choose colours so that the overlapping sum reproduces ``image`` at the Gaussians' centres.

    The sum render is linear in the colours; a few Jacobi sweeps on that system (each one render) start
    the fit close to the picture instead of several times too bright or too dark.
    """
    height, width = image.shape[:2]
    xs = np.clip((gaussians.means[:, 0] * width).astype(int), 0, width - 1)
    ys = np.clip((gaussians.means[:, 1] * height).astype(int), 0, height - 1)
    wanted = image[ys, xs]
    ones = Gaussians(
        gaussians.means, gaussians.chol, np.ones_like(gaussians.colors), gaussians.opacities, gaussians.native_size
    )
    weight = np.maximum(ones.render(mode=RenderMode.ACCUMULATED_SUM)[ys, xs, :1], 1.0)
    gaussians.colors = (wanted / weight).astype(np.float32)
    for _ in range(sweeps):
        got = gaussians.render(mode=RenderMode.ACCUMULATED_SUM)[ys, xs]
        gaussians.colors = (gaussians.colors + (wanted - got) / weight).astype(np.float32)


def initialize(
    image: np.ndarray,
    n: int,
    rng: np.random.Generator,
    method: str = "content",
    mode: RenderMode = RenderMode.ACCUMULATED_SUM,
    uniform_share: float = 0.3,
    max_sigma_px: float = 64.0,
) -> Gaussians:
    """The starting Gaussians for a fit of ``image`` (``[H, W, 3]`` float in [0, 1]).

    ``method`` is ``"content"`` (gradient-weighted, the default) or ``"random"`` (uniform positions and
    random colours, as GaussianImage starts; kept for comparison).
    """
    if n < 1:
        msg = f"need at least one Gaussian, got {n}"
        raise ValueError(msg)
    height, width = image.shape[:2]
    if method == "content":
        gaussians = sample_gaussians(image, gradient_density(image, uniform_share), n, rng, max_sigma_px)
        if mode is RenderMode.ACCUMULATED_SUM:
            normalize_sum_colors(gaussians, image)
        return gaussians
    if method == "random":
        uniform = np.full((height, width), 1.0 / (height * width))
        gaussians = sample_gaussians(image, uniform, n, rng, max_sigma_px)
        gaussians.colors = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
        return gaussians
    msg = f"unknown init method {method!r}: use 'content' or 'random'"
    raise ValueError(msg)
