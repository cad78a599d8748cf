"""Projection of Gaussians into output pixels and their binning into tiles, in one launch.

A Gaussian joins a tile's list when its cut-off ellipse (``cutoff_sigma`` standard deviations) meets the
rectangle spanned by the tile's pixel centres: an exact test, not a bounding box, so long thin Gaussians do
not flood the tiles their box merely grazes. Each tile's list keeps the Gaussians in stored order, which
alpha compositing needs and which keeps every sum in a fixed order.

The launch runs five loops: project and count per Gaussian (parallel), two prefix sums (serial, short),
list each Gaussian's tiles (parallel) and scatter the pairs into tile order (serial, four stores a pair).
The lists' length is only known inside the launch, so it writes into buffers of a guessed capacity and
reports the length; when the guess was short the launch is repeated with room enough (rare: the guess
follows the last render's length).
"""

from dataclasses import dataclass

import numpy as np
import taichi as ti

from .launches import launch
from .settings import RasterSettings

GEOM_COLS = 11
"""Per-Gaussian projected geometry: px, py (pixel mean), A, B, C (conic), rx, ry (cut-off half extents),
exp(-A) (the row recurrence's constant step), 1 / A (for the span of a row), exp(-2A) and exp(-4A) (the
steps of the forward's two-pixel recurrence, each rounded once: squaring exp(-A) would round twice and
drift four times faster along a span)."""

Arr1f = ti.types.ndarray(dtype=ti.f32, ndim=1)
Arr2f = ti.types.ndarray(dtype=ti.f32, ndim=2)
Arr1i = ti.types.ndarray(dtype=ti.i32, ndim=1)
Arr2i = ti.types.ndarray(dtype=ti.i32, ndim=2)

_capacity_hint = {"pairs": 1024}
"""Length of the last tile lists: the next render of a fit is about as long."""


@dataclass(frozen=True)
class Binning:
    """Tile lists: the Gaussians of tile t are ``tile_list[tile_offsets[t]:tile_offsets[t + 1]]``."""

    geom: np.ndarray  # [N, GEOM_COLS] float32
    span: np.ndarray  # [N, 4] int32: first/last pixel column and row inside the cut-off (empty when lo > hi)
    tile_offsets: np.ndarray  # [T + 1] int32
    tile_list: np.ndarray  # [M] int32
    pair_tile: np.ndarray  # [M] int32: the tile each tile_list entry belongs to
    gauss_offsets: np.ndarray  # [N + 1] int32: Gaussian i's pairs are gauss_pairs[gauss_offsets[i]:gauss_offsets[i+1]]
    gauss_pairs: np.ndarray  # [M] int32: pair (tile_list) indices grouped by Gaussian, for ordered reductions
    tile_work: np.ndarray  # [T] int64: pixel evaluations per tile (bounding boxes), for launch splitting


@ti.func
def pixel_covariance(l11: ti.f32, l21: ti.f32, l22: ti.f32, sx: ti.f32, sy: ti.f32, floor: ti.f32):
    """Output-pixel covariance (a, b, c) = S L L^T S + floor I and its determinant, in a form that cannot
    cancel: det = (sx sy l11 l22)^2 + floor (a' + c') + floor^2."""
    a0 = sx * sx * l11 * l11
    c0 = sy * sy * (l21 * l21 + l22 * l22)
    m = sx * sy * l11 * l22
    return a0 + floor, sx * sy * l11 * l21, c0 + floor, m * m + floor * (a0 + c0) + floor * floor


@ti.func
def pixel_span(centre: ti.f32, radius: ti.f32, size: ti.i32):
    """Pixels whose centre lies within ``radius`` of ``centre``, clipped to [0, size - 1] (may be empty)."""
    lo = ti.max(centre - radius - 0.5, -1.0)
    hi = ti.min(centre + radius - 0.5, ti.cast(size, ti.f32))
    return ti.max(ti.cast(ti.ceil(lo), ti.i32), 0), ti.min(ti.cast(ti.floor(hi), ti.i32), size - 1)


@ti.func
def _edge_min(qa: ti.f32, qb: ti.f32, qc: ti.f32, fixed: ti.f32, lo: ti.f32, hi: ti.f32) -> ti.f32:
    """Minimum of qa f^2 + 2 qb f t + qc t^2 over t in [lo, hi] with f fixed."""
    t = ti.min(ti.max(-qb * fixed / qc, lo), hi)
    return qa * fixed * fixed + 2.0 * qb * fixed * t + qc * t * t


@ti.func
def meets_tile(geom: Arr2f, i: ti.i32, tx: ti.i32, ty: ti.i32, tile, width: ti.i32, height: ti.i32, k2: ti.f32) -> bool:
    """Whether Gaussian i's cut-off ellipse meets the rectangle of tile (tx, ty)'s pixel centres; ``tile`` =
    (width, height) of a tile."""
    px = geom[i, 0]
    py = geom[i, 1]
    qa = geom[i, 2]
    qb = geom[i, 3]
    qc = geom[i, 4]
    x0 = ti.cast(tx * tile[0], ti.f32) + 0.5 - px
    y0 = ti.cast(ty * tile[1], ti.f32) + 0.5 - py
    x1 = ti.cast(ti.min(tx * tile[0] + tile[0], width) - 1, ti.f32) + 0.5 - px
    y1 = ti.cast(ti.min(ty * tile[1] + tile[1], height) - 1, ti.f32) + 0.5 - py
    hit = x0 <= 0.0 <= x1 and y0 <= 0.0 <= y1
    if not hit:
        best = ti.min(_edge_min(qa, qb, qc, x0, y0, y1), _edge_min(qa, qb, qc, x1, y0, y1))
        best = ti.min(best, _edge_min(qc, qb, qa, y0, x0, x1))
        best = ti.min(best, _edge_min(qc, qb, qa, y1, x0, x1))
        hit = best <= k2
    return hit


@ti.func
def _project(means: Arr2f, chol: Arr2f, i: ti.i32, view: ti.types.vector(7, ti.f32), geom: Arr2f):
    """Gaussian i in output pixels: mean, conic, cut-off extents and the pixel box inside them.

    ``view`` = (sx, sy, ox, oy, floor, k, unused)."""
    a, b, c, det = pixel_covariance(chol[i, 0], chol[i, 1], chol[i, 2], view[0], view[1], view[4])
    qa = c / det
    geom[i, 0] = (means[i, 0] - view[2]) * view[0]
    geom[i, 1] = (means[i, 1] - view[3]) * view[1]
    geom[i, 2] = qa
    geom[i, 3] = -b / det
    geom[i, 4] = a / det
    geom[i, 5] = view[5] * ti.sqrt(a)
    geom[i, 6] = view[5] * ti.sqrt(c)
    geom[i, 7] = ti.exp(-qa)
    geom[i, 8] = 1.0 / qa
    geom[i, 9] = ti.exp(-2.0 * qa)
    geom[i, 10] = ti.exp(-4.0 * qa)


@ti.kernel
def _bin(
    means: Arr2f,
    chol: Arr2f,
    view: ti.types.vector(7, ti.f32),
    width: ti.i32,
    height: ti.i32,
    tile: ti.types.vector(2, ti.i32),
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    gauss_offsets: Arr1i,
    tile_offsets: Arr1i,
    tile_work: Arr1i,
    cursor: Arr1i,
    hits: Arr1i,
    tile_list: Arr1i,
    pair_tile: Arr1i,
    gauss_pairs: Arr1i,
):
    """``gauss_offsets`` and ``cursor`` start as zeros; ``tile_offsets[T]`` returns the number of pairs,
    and the lists are filled only when it fits the buffers."""
    n = means.shape[0]
    tw, th = tile[0], tile[1]
    tiles_x = (width + tw - 1) // tw
    for i in range(n):
        _project(means, chol, i, view, geom)
        span[i, 0], span[i, 1] = pixel_span(geom[i, 0], geom[i, 5], width)
        span[i, 2], span[i, 3] = pixel_span(geom[i, 1], geom[i, 6], height)
        xlo, xhi, ylo, yhi = span[i, 0], span[i, 1], span[i, 2], span[i, 3]
        count = 0
        if xlo <= xhi and ylo <= yhi:
            for ty in range(ylo // th, yhi // th + 1):
                for tx in range(xlo // tw, xhi // tw + 1):
                    if meets_tile(geom, i, tx, ty, tile, width, height, k2):
                        w = ti.min(xhi, tx * tw + tw - 1) - ti.max(xlo, tx * tw) + 1
                        h = ti.min(yhi, ty * th + th - 1) - ti.max(ylo, ty * th) + 1
                        ti.atomic_add(cursor[ty * tiles_x + tx], 1)  # integer: any order gives the same count
                        ti.atomic_add(tile_work[ty * tiles_x + tx], w * h)
                        count += 1
        gauss_offsets[i + 1] = count
    for _ in range(1):  # prefix sums, serial (a few thousand additions)
        for i in range(n):
            gauss_offsets[i + 1] += gauss_offsets[i]
        total = 0
        for t in range(cursor.shape[0]):
            tile_offsets[t] = total
            total += cursor[t]
            cursor[t] = tile_offsets[t]
        tile_offsets[cursor.shape[0]] = total
    for i in range(n):  # each Gaussian lists its tiles, in parallel
        if tile_offsets[cursor.shape[0]] <= tile_list.shape[0]:
            xlo, xhi, ylo, yhi = span[i, 0], span[i, 1], span[i, 2], span[i, 3]
            j = gauss_offsets[i]
            if xlo <= xhi and ylo <= yhi:
                for ty in range(ylo // th, yhi // th + 1):
                    for tx in range(xlo // tw, xhi // tw + 1):
                        if meets_tile(geom, i, tx, ty, tile, width, height, k2):
                            hits[j] = ty * tiles_x + tx
                            j += 1
    for _ in range(1):  # scatter into tile order, serial: each tile's list stays in stored order
        if tile_offsets[cursor.shape[0]] <= tile_list.shape[0]:
            for i in range(n):
                for j in range(gauss_offsets[i], gauss_offsets[i + 1]):
                    t = hits[j]
                    k = cursor[t]
                    tile_list[k] = i
                    pair_tile[k] = t
                    gauss_pairs[j] = k
                    cursor[t] = k + 1


def bin_gaussians(means: np.ndarray, chol: np.ndarray, settings: RasterSettings) -> Binning:
    """Project the Gaussians for ``settings`` and build the per-tile lists (one launch, two when the lists
    outgrow the guessed capacity)."""
    s = settings
    sx, sy = s.scale
    tiles = s.tiles[0] * s.tiles[1]
    n = len(means)
    view = ti.Vector([sx, sy, s.viewport.x0, s.viewport.y0, s.cov_floor, s.cutoff_sigma, 0.0], dt=ti.f32)
    tile = ti.Vector(s.tile, dt=ti.i32)
    capacity = _capacity_hint["pairs"]
    while True:
        geom = np.empty((n, GEOM_COLS), dtype=np.float32)
        span = np.empty((n, 4), dtype=np.int32)
        gauss_offsets = np.zeros(n + 1, dtype=np.int32)
        tile_offsets = np.zeros(tiles + 1, dtype=np.int32)
        tile_work = np.zeros(tiles, dtype=np.int32)
        cursor = np.zeros(tiles, dtype=np.int32)
        lists = [np.empty(capacity, dtype=np.int32) for _ in range(4)]  # hits, tile_list, pair_tile, gauss_pairs
        if n:
            launch(_bin, means, chol, view, s.width, s.height, tile, s.cutoff_sigma**2, geom, span, gauss_offsets,
                   tile_offsets, tile_work, cursor, *lists)  # fmt: skip
        total = int(tile_offsets[-1])
        if total < 0 or (tile_offsets[1:] < tile_offsets[:-1]).any():  # int32 counters wrapped around
            msg = "too many Gaussian-tile overlaps for one render: render a smaller viewport"
            raise ValueError(msg)
        if total <= capacity:
            break
        capacity = total + total // 4
    _capacity_hint["pairs"] = max(1024, total + total // 8)
    _, tile_list, pair_tile, gauss_pairs = (x[:total] for x in lists)
    return Binning(
        geom, span, tile_offsets, tile_list, pair_tile, gauss_offsets, gauss_pairs, tile_work.astype(np.int64)
    )
