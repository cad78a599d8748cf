"""Gaussian shapes as (sigma_major, sigma_minor, angle) in native pixels, and back to Cholesky factors.

Quantizing the raw Cholesky triple wastes bits: sizes span 0.3-60 px, so k-means or a uniform grid over l11,
l21, l22 either loses the small Gaussians or the big ones (measured: 4.6-5.8 dB for a 256-entry VQ). Log-sizes
and an angle are spaces where a fixed step means a fixed relative error.
"""

from __future__ import annotations

import numpy as np

SIGMA_MIN_PX = 2.0**-4
SIGMA_MAX_PX = 2.0**9


def covariance_px(chol: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalized Cholesky factors ``[N, 3]`` to pixel covariances ``[N, 3]`` (xx, xy, yy), float64, no floor."""
    c = np.asarray(chol, dtype=np.float64)
    return np.stack(
        [(width * c[:, 0]) ** 2, width * height * c[:, 0] * c[:, 1], height**2 * (c[:, 1] ** 2 + c[:, 2] ** 2)], axis=1
    )


def chol_to_shape(chol: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalized Cholesky factors ``[N, 3]`` to (sigma_major, sigma_minor, angle in [0, pi)) in pixels."""
    a, b, d = covariance_px(chol, width, height).T
    mid = 0.5 * (a + d)
    radius = np.sqrt(0.25 * (a - d) ** 2 + b * b)
    major = np.sqrt(np.maximum(mid + radius, 0.0))
    minor = np.sqrt(np.maximum(mid - radius, 0.0))
    angle = np.mod(0.5 * np.arctan2(2.0 * b, a - d), np.pi)
    return (
        np.clip(major, SIGMA_MIN_PX, SIGMA_MAX_PX),
        np.clip(minor, SIGMA_MIN_PX, SIGMA_MAX_PX),
        angle,
    )


def shape_to_chol(major: np.ndarray, minor: np.ndarray, angle: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of ``chol_to_shape``: ``[N, 3]`` float32 normalized Cholesky factors."""
    cos, sin = np.cos(angle), np.sin(angle)
    s1, s2 = np.asarray(major, np.float64) ** 2, np.asarray(minor, np.float64) ** 2
    a = (s1 * cos * cos + s2 * sin * sin) / width**2
    b = (s1 - s2) * sin * cos / (width * height)
    d = (s1 * sin * sin + s2 * cos * cos) / height**2
    l11 = np.sqrt(a)
    l21 = b / l11
    l22 = np.sqrt(np.maximum(d - l21 * l21, 0.0))
    return np.stack([l11, l21, l22], axis=1).astype(np.float32)
