"""Compare views: a split of original and reconstruction, an error heatmap, and the Gaussians as ellipses.

Pure array work on frames the GUI already holds (a few ms at 768x512), so none of it needs the engine.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

ERROR_GAIN = 4.0
"""Heatmap scale: an absolute error of 1/4 of the range (64 levels) is already full brightness."""
ELLIPSE_POINTS = 20
ELLIPSE_SIGMAS = 1.0
"""Ellipses are drawn at one standard deviation, where a Gaussian has fallen to 61% of its peak."""
INDEX_COLOURS = 12
"""The overlay colours ellipses by codebook index modulo this many hues."""


def split_composite(original: np.ndarray, reconstruction: np.ndarray, fraction: float) -> np.ndarray:
    """The original left of ``fraction`` of the width, the reconstruction right of it, a 1-px line between."""
    out = reconstruction.copy()
    x = round(min(max(fraction, 0.0), 1.0) * out.shape[1])
    out[:, :x] = original[:, :x]
    if 0 < x < out.shape[1]:
        out[:, x] = (255, 255, 255)
    return out


def error_heatmap(original: np.ndarray, reconstruction: np.ndarray, gain: float = ERROR_GAIN) -> np.ndarray:
    """Per-pixel mean absolute RGB error through the inferno colour map (black: exact)."""
    error = np.abs(original.astype(np.int16) - reconstruction.astype(np.int16)).mean(axis=2)
    levels = np.clip(error * gain, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(heatmap_lut()[levels])


def heatmap_lut() -> np.ndarray:
    """The heatmap's 256 colours, [256, 3] uint8 (its colour scale draws the same)."""
    return pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False).astype(np.uint8)


def ellipse_outlines(means: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed outlines of the ``ELLIPSE_SIGMAS`` ellipse of each Gaussian: x and y as ``[N, ELLIPSE_POINTS + 1]``.

    ``means`` [N, 2] and ``cov`` [N, 3] (xx, xy, yy) are in pixels; the outline is mean + L (cos t, sin t) with
    L the covariance's Cholesky factor, which traces the same ellipse as its eigenvectors do."""
    a, b, c = cov[:, 0], cov[:, 1], cov[:, 2]
    l11 = np.sqrt(np.maximum(a, 1e-12))
    l21 = b / l11
    l22 = np.sqrt(np.maximum(c - l21**2, 1e-12))
    t = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_POINTS + 1)
    cos, sin = np.cos(t)[None, :], np.sin(t)[None, :]
    x = means[:, :1] + ELLIPSE_SIGMAS * l11[:, None] * cos
    y = means[:, 1:2] + ELLIPSE_SIGMAS * (l21[:, None] * cos + l22[:, None] * sin)
    return x, y


def overlay_paths(means: np.ndarray, cov: np.ndarray, index: np.ndarray | None) -> list[tuple[QColor, object]]:
    """One QPainterPath per colour: all ellipses in one colour, or grouped by codebook index."""
    x, y = ellipse_outlines(means, cov)
    groups = np.zeros(len(means), np.int64) if index is None else np.asarray(index) % INDEX_COLOURS
    paths = []
    for group in np.unique(groups):
        chosen = groups == group
        connect = np.ones(x[chosen].shape, dtype=bool)
        connect[:, -1] = False  # lift the pen between ellipses
        path = pg.arrayToQPath(x[chosen].ravel(), y[chosen].ravel(), connect=connect.ravel())
        colour = QColor("#22d3ee") if index is None else QColor.fromHsvF(group / INDEX_COLOURS, 0.8, 1.0)
        paths.append((colour, path))
    return paths
