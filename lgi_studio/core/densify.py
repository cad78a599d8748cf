"""Error-guided densification and pruning during a fit.

A fit starts with part of its Gaussian budget; at a few points it drops Gaussians that draw nothing (or
drifted off the picture) and adds new ones where the error is largest, coloured with the residual there, so
each addition fixes what the current set gets wrong.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lgi_kernels import RenderMode

from .init import _mix_with_uniform, normalize_sum_colors, sample_gaussians
from .model import Gaussians
from .optim import Adam

MEAN_MARGIN = 0.05
"""Means may sit this far outside the picture (normalized): clipping to the frame costs quality at edges."""


def alive(gaussians: Gaussians, mode: RenderMode) -> np.ndarray:
    """Mask of Gaussians worth keeping: visible (colour or opacity above one 8-bit step) and near the frame."""
    if mode is RenderMode.ACCUMULATED_SUM:
        visible = np.abs(gaussians.colors).max(axis=1) >= 1.0 / 255.0
    else:
        visible = gaussians.opacities >= 1.0 / 255.0
    inside = np.all((gaussians.means >= -MEAN_MARGIN) & (gaussians.means <= 1.0 + MEAN_MARGIN), axis=1)
    return visible & inside


def prune_and_densify(
    gaussians: Gaussians,
    adam: Adam,
    image: np.ndarray,
    render: np.ndarray,
    target_count: int,
    rng: np.random.Generator,
    mode: RenderMode,
    max_sigma_px: float,
) -> Gaussians:
    """Drop dead Gaussians, then add new ones where the error is largest until there are ``target_count``."""
    keep = alive(gaussians, mode)
    if not keep.all():
        gaussians = gaussians.take(keep)
        adam.keep(keep)
    n_add = target_count - len(gaussians)
    if n_add <= 0:
        return gaussians
    residual = image - render
    error = ndimage.gaussian_filter((residual**2).sum(axis=2), 1.5)
    density = _mix_with_uniform(error, 0.05)
    if mode is RenderMode.ACCUMULATED_SUM:
        new = sample_gaussians(residual, density, n_add, rng, max_sigma_px)
        normalize_sum_colors(new, residual)
    else:
        new = sample_gaussians(image, density, n_add, rng, max_sigma_px)
        new.opacities[:] = 0.5
    adam.grow(n_add)
    return gaussians.extended(new)
