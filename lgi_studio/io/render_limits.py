"""What a render may cost, judged from the Gaussians before anything is allocated (docs/lgi-format.md, Limits).

A 100-byte .lgi file may declare a 32768 x 32768 picture or 100,000 Gaussians that each cover it: rendering
that would take minutes and gigabytes. So every render of a file's Gaussians (``lgi decode``, the Pillow
plugin) first estimates its memory (output pixels) and its work (pixel evaluations: each Gaussian's cut-off
box in output pixels, clipped to the picture), and refuses with ``RenderLimitError`` beyond the limits below.
"""

from __future__ import annotations

import numpy as np

from lgi_kernels import RenderMode
from lgi_studio.core.model import COV_FLOOR_PX2, Gaussians

from .errors import RenderLimitError

MAX_RENDER_PIXELS = 1 << 23
"""Largest render (8.4 MP, e.g. 4096 x 2048): ``lgi decode`` to PNG at that size peaked 222 MB above the
same decode at 16 pixels wide (the float32 image, its 8-bit copy, the PNG)."""
MAX_RENDER_WORK = 500_000_000
"""Pixel evaluations a render may declare: ~2 s on one CPU core (measured: 527 million in 1.9 s, accumulated
sum, on the 2-core development machine), far less on a GPU."""
GAUSSIAN_WORK = 256
"""What one Gaussian costs before its pixels (projection, binning, its tiles' loops), in pixel evaluations:
2,000,000 Gaussians of a pixel each take 1.4-3 s to render at 256 x 256 (measured), like 500 million
evaluations."""
CUTOFF_SIGMA = 3.0
"""The renderer's cut-off (``RasterSettings.cutoff_sigma``): a Gaussian touches pixels within 3 sigma."""


def render_work(g: Gaussians, width: int, height: int, mode: RenderMode = RenderMode.ACCUMULATED_SUM) -> int:
    """Pixel evaluations to render ``g`` at ``width`` x ``height``: every pixel once, ``GAUSSIAN_WORK`` per
    Gaussian, plus each Gaussian's cut-off box in output pixels clipped to the picture (alpha compositing
    counts double, as in the kernels' launch split). An upper bound of what the rasterizer does, computed in
    O(N) without rendering."""
    sx = width
    sy = height
    zoom = np.sqrt(width / g.native_size[0] * height / g.native_size[1])
    floor = COV_FLOOR_PX2 * zoom * zoom
    chol = g.chol.astype(np.float64)
    a = (sx * chol[:, 0]) ** 2 + floor
    c = sy * sy * (chol[:, 1] ** 2 + chol[:, 2] ** 2) + floor
    box_w = _clipped_extent(g.means[:, 0].astype(np.float64) * sx, CUTOFF_SIGMA * np.sqrt(a), width)
    box_h = _clipped_extent(g.means[:, 1].astype(np.float64) * sy, CUTOFF_SIGMA * np.sqrt(c), height)
    weight = 2 if mode is RenderMode.ALPHA else 1
    return int(width * height + GAUSSIAN_WORK * len(g) + weight * float(np.sum(box_w * box_h)))


def _clipped_extent(centre: np.ndarray, radius: np.ndarray, size: int) -> np.ndarray:
    """Pixels per Gaussian along one axis whose centres lie within ``radius`` of ``centre`` and in the picture
    (as the kernels' ``pixel_span``)."""
    first = np.maximum(np.ceil(np.maximum(centre - radius - 0.5, -1.0)), 0.0)
    last = np.minimum(np.floor(np.minimum(centre + radius - 0.5, float(size))), size - 1.0)
    return np.maximum(last - first + 1.0, 0.0)


def check_render(g: Gaussians, width: int, height: int, mode: RenderMode = RenderMode.ACCUMULATED_SUM) -> None:
    """Raise ``RenderLimitError`` when rendering ``g`` at ``width`` x ``height`` is beyond the limits."""
    if width * height > MAX_RENDER_PIXELS:
        msg = (
            f"a {width}x{height} render is {width * height / 1e6:.1f} MP, more than the "
            f"{MAX_RENDER_PIXELS / 1e6:.1f} MP limit (ask for a smaller size)"
        )
        raise RenderLimitError(msg)
    work = render_work(g, width, height, mode)
    if work > MAX_RENDER_WORK:
        msg = (
            f"rendering {len(g)} Gaussians at {width}x{height} declares {work / 1e6:.0f} million pixel "
            f"evaluations, more than the {MAX_RENDER_WORK / 1e6:.0f} million limit (ask for a smaller size)"
        )
        raise RenderLimitError(msg)


def render_checked(
    g: Gaussians, width: int | None = None, height: int | None = None, mode: RenderMode = RenderMode.ACCUMULATED_SUM
) -> np.ndarray:
    """``g.render(width, height, mode)`` after ``check_render``: ``[H, W, 3]`` float32."""
    width = width or g.native_size[0]
    height = height or g.native_size[1]
    check_render(g, width, height, mode)
    return g.render(width, height, mode=mode)
