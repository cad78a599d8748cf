"""Projection of Gaussians into output pixels and their binning into 16x16 tiles.

A Gaussian joins a tile's list when its cut-off ellipse (``cutoff_sigma`` standard deviations) meets the
rectangle spanned by the tile's pixel centres: an exact test, not a bounding box, so long thin Gaussians do
not flood the tiles their box merely grazes. Each tile's list keeps the Gaussians in stored order, which
alpha compositing needs.
"""

from dataclasses import dataclass

import numpy as np
import taichi as ti

from .launches import launch
from .settings import TILE, RasterSettings

GEOM_COLS = 7
"""Per-Gaussian projected geometry: px, py (pixel mean), A, B, C (conic), rx, ry (cut-off half extents)."""

Arr1f = ti.types.ndarray(dtype=ti.f32, ndim=1)
Arr2f = ti.types.ndarray(dtype=ti.f32, ndim=2)
Arr1i = ti.types.ndarray(dtype=ti.i32, ndim=1)
Arr2i = ti.types.ndarray(dtype=ti.i32, ndim=2)


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


@ti.kernel
def _project(
    means: Arr2f,
    chol: Arr2f,
    sx: ti.f32,
    sy: ti.f32,
    ox: ti.f32,
    oy: ti.f32,
    floor: ti.f32,
    k: ti.f32,
    width: ti.i32,
    height: ti.i32,
    geom: Arr2f,
    span: Arr2i,
):
    for i in range(means.shape[0]):
        a, b, c, det = pixel_covariance(chol[i, 0], chol[i, 1], chol[i, 2], sx, sy, floor)
        geom[i, 0] = (means[i, 0] - ox) * sx
        geom[i, 1] = (means[i, 1] - oy) * sy
        geom[i, 2] = c / det
        geom[i, 3] = -b / det
        geom[i, 4] = a / det
        geom[i, 5] = k * ti.sqrt(a)
        geom[i, 6] = k * ti.sqrt(c)
        span[i, 0], span[i, 1] = pixel_span(geom[i, 0], geom[i, 5], width)
        span[i, 2], span[i, 3] = pixel_span(geom[i, 1], geom[i, 6], height)


@ti.func
def _edge_min(qa: ti.f32, qb: ti.f32, qc: ti.f32, fixed: ti.f32, lo: ti.f32, hi: ti.f32) -> ti.f32:
    """Minimum of qa f^2 + 2 qb f t + qc t^2 over t in [lo, hi] with f fixed."""
    t = ti.min(ti.max(-qb * fixed / qc, lo), hi)
    return qa * fixed * fixed + 2.0 * qb * fixed * t + qc * t * t


@ti.func
def meets_tile(geom: Arr2f, i: ti.i32, tx: ti.i32, ty: ti.i32, width: ti.i32, height: ti.i32, k2: ti.f32) -> bool:
    """Whether Gaussian i's cut-off ellipse meets the rectangle of tile (tx, ty)'s pixel centres."""
    px = geom[i, 0]
    py = geom[i, 1]
    qa = geom[i, 2]
    qb = geom[i, 3]
    qc = geom[i, 4]
    x0 = ti.cast(tx * TILE, ti.f32) + 0.5 - px
    y0 = ti.cast(ty * TILE, ti.f32) + 0.5 - py
    x1 = ti.cast(ti.min(tx * TILE + TILE, width) - 1, ti.f32) + 0.5 - px
    y1 = ti.cast(ti.min(ty * TILE + TILE, height) - 1, ti.f32) + 0.5 - py
    hit = x0 <= 0.0 <= x1 and y0 <= 0.0 <= y1
    if not hit:
        best = ti.min(_edge_min(qa, qb, qc, x0, y0, y1), _edge_min(qa, qb, qc, x1, y0, y1))
        best = ti.min(best, _edge_min(qc, qb, qa, y0, x0, x1))
        best = ti.min(best, _edge_min(qc, qb, qa, y1, x0, x1))
        hit = best <= k2
    return hit


@ti.kernel
def _count(
    geom: Arr2f,
    span: Arr2i,
    width: ti.i32,
    height: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    tile_count: Arr1i,
    tile_work: Arr1i,
):
    for i in range(geom.shape[0]):
        xlo, xhi, ylo, yhi = span[i, 0], span[i, 1], span[i, 2], span[i, 3]
        if xlo <= xhi and ylo <= yhi:
            for ty in range(ylo // TILE, yhi // TILE + 1):
                for tx in range(xlo // TILE, xhi // TILE + 1):
                    if meets_tile(geom, i, tx, ty, width, height, k2):
                        w = ti.min(xhi, tx * TILE + TILE - 1) - ti.max(xlo, tx * TILE) + 1
                        h = ti.min(yhi, ty * TILE + TILE - 1) - ti.max(ylo, ty * TILE) + 1
                        ti.atomic_add(tile_count[ty * tiles_x + tx], 1)
                        ti.atomic_add(tile_work[ty * tiles_x + tx], w * h)


@ti.kernel
def _fill(
    geom: Arr2f,
    span: Arr2i,
    width: ti.i32,
    height: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    cursor: Arr1i,
    tile_list: Arr1i,
    pair_tile: Arr1i,
    gauss_offsets: Arr1i,
    gauss_pairs: Arr1i,
):
    ti.loop_config(serialize=True)  # stored order inside each tile, as alpha compositing needs
    emitted = 0
    for i in range(geom.shape[0]):
        gauss_offsets[i] = emitted
        xlo, xhi, ylo, yhi = span[i, 0], span[i, 1], span[i, 2], span[i, 3]
        if xlo <= xhi and ylo <= yhi:
            for ty in range(ylo // TILE, yhi // TILE + 1):
                for tx in range(xlo // TILE, xhi // TILE + 1):
                    if meets_tile(geom, i, tx, ty, width, height, k2):
                        t = ty * tiles_x + tx
                        tile_list[cursor[t]] = i
                        pair_tile[cursor[t]] = t
                        gauss_pairs[emitted] = cursor[t]
                        emitted += 1
                        cursor[t] = cursor[t] + 1
    gauss_offsets[geom.shape[0]] = emitted


def bin_gaussians(means: np.ndarray, chol: np.ndarray, settings: RasterSettings) -> Binning:
    """Project the Gaussians for ``settings`` and build the per-tile lists."""
    s = settings
    sx, sy = s.scale
    tiles_x, tiles_y = s.tiles
    k2 = s.cutoff_sigma**2
    geom = np.empty((len(means), GEOM_COLS), dtype=np.float32)
    span = np.empty((len(means), 4), dtype=np.int32)
    tile_count = np.zeros(tiles_x * tiles_y, dtype=np.int32)
    tile_work = np.zeros(tiles_x * tiles_y, dtype=np.int32)
    if len(means):
        vp = s.viewport
        launch(_project, means, chol, sx, sy, vp.x0, vp.y0, s.cov_floor, s.cutoff_sigma, s.width, s.height, geom, span)
        launch(_count, geom, span, s.width, s.height, tiles_x, k2, tile_count, tile_work)
    offsets = np.zeros(tiles_x * tiles_y + 1, dtype=np.int64)
    np.cumsum(tile_count, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        msg = f"too many Gaussian-tile overlaps ({offsets[-1]}) for one render: render a smaller viewport"
        raise ValueError(msg)
    offsets = offsets.astype(np.int32)
    tile_list = np.empty(int(offsets[-1]), dtype=np.int32)
    pair_tile = np.empty_like(tile_list)
    gauss_offsets = np.zeros(len(means) + 1, dtype=np.int32)
    gauss_pairs = np.empty_like(tile_list)
    if len(tile_list):
        cursor = offsets[:-1].copy()
        launch(
            _fill, geom, span, s.width, s.height, tiles_x, k2, cursor, tile_list, pair_tile, gauss_offsets, gauss_pairs
        )
    return Binning(geom, span, offsets, tile_list, pair_tile, gauss_offsets, gauss_pairs, tile_work.astype(np.int64))
