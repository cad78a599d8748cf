"""Tiled Taichi rasterizer: forward and backward, accumulated sum and alpha compositing.

The forward pass runs one item per tile row, so writes into its pixels are plain (non-atomic)
read-modify-writes. The backward pass writes one partial gradient per (tile, Gaussian) pair — per (tile row,
Gaussian) in alpha mode — and ``_reduce`` sums them per Gaussian in a fixed order: no float atomics, so a
seeded fit is bit-reproducible. Long renders are split into several launches of bounded work, because a
Taichi CPU launch holds the Python GIL for its whole duration.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import taichi as ti

from .backend import ensure_backend
from .binning import Arr1f, Arr1i, Arr2f, Arr2i, Binning, bin_gaussians, pixel_covariance
from .fastmath import fast_exp
from .gradients import Gradients
from .launches import launch
from .settings import ALPHA_MAX, ALPHA_MIN, T_MIN, TILE, RasterSettings, RenderMode

Arr3f = ti.types.ndarray(dtype=ti.f32, ndim=3)

V_COLS = 9
"""Per-Gaussian gradient accumulator: v_px, v_py, v_A, v_B, v_C, v_r, v_g, v_b, v_opacity."""

WORK_PER_LAUNCH = 1_500_000
"""Pixel evaluations per launch: about 10 ms on one 2-core machine, keeping GIL holds short."""


@ti.func
def _row_span(
    px: ti.f32, qa: ti.f32, qb: ti.f32, qc: ti.f32, dy: ti.f32, xlo: ti.i32, xhi: ti.i32, k2: ti.f32, margin: ti.f32
):
    """Pixels of a row at offset dy inside the cut-off ellipse q <= k2, within [xlo, xhi].

    ``margin`` widens the span (in pixels) for loops that test q <= k2 themselves, so rounding never drops a
    pixel the reference keeps.
    """
    bdy = qb * dy
    disc = bdy * bdy - qa * (qc * dy * dy - k2)
    lo = xhi + 1
    hi = xhi
    if disc >= 0.0:
        cx = px - 0.5 - bdy / qa
        half = ti.sqrt(disc) / qa + margin
        lo = ti.max(xlo, ti.cast(ti.ceil(ti.max(cx - half, -1.0)), ti.i32))
        hi = ti.min(xhi, ti.cast(ti.floor(ti.min(cx + half, ti.cast(xhi + 1, ti.f32))), ti.i32))
    return lo, hi


@ti.func
def _row_weights(qa: ti.f32, qb: ti.f32, qc: ti.f32, dx: ti.f32, dy: ti.f32):
    """G at offset (dx, dy) and what steps it one pixel to the right: G(x + 1) = G(x) * ratio, ratio *= step.

    Along a row the exponent is quadratic in x, so consecutive values differ by a factor that itself changes
    by the constant exp(-qa): two multiplies per pixel instead of an exp.
    """
    q = qa * dx * dx + 2.0 * qb * dx * dy + qc * dy * dy
    return fast_exp(-0.5 * q), fast_exp(-(qa * dx + qb * dy) - 0.5 * qa), fast_exp(-qa)


@ti.func
def _tile_box(t: ti.i32, tiles_x: ti.i32, width: ti.i32, height: ti.i32):
    x0 = (t % tiles_x) * TILE
    y0 = (t // tiles_x) * TILE
    return x0, y0, ti.min(x0 + TILE, width) - 1, ti.min(y0 + TILE, height) - 1


@ti.func
def _footprint(geom: Arr2f, span: Arr2i, g: ti.i32, x0: ti.i32, y0: ti.i32, x1: ti.i32, y1: ti.i32):
    """Gaussian g's geometry as locals (so the loops below keep it in registers) and its box within a tile."""
    return (
        geom[g, 0],
        geom[g, 1],
        geom[g, 2],
        geom[g, 3],
        geom[g, 4],
        ti.max(span[g, 0], x0),
        ti.min(span[g, 1], x1),
        ti.max(span[g, 2], y0),
        ti.min(span[g, 3], y1),
    )


@ti.kernel
def _forward_sum(
    t_begin: ti.i32,
    t_end: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    offsets: Arr1i,
    tile_list: Arr1i,
    image: Arr3f,
):
    for item in range((t_end - t_begin) * TILE):
        t = t_begin + item // TILE
        x0, y0, x1, y1 = _tile_box(t, tiles_x, image.shape[1], image.shape[0])
        y = y0 + item % TILE
        if y <= y1:
            row = ti.Matrix.zero(ti.f32, TILE, 3)
            for k in range(offsets[t], offsets[t + 1]):
                g = tile_list[k]
                if span[g, 2] <= y <= span[g, 3]:
                    px, py, qa, qb, qc, xlo, xhi, _ylo, _yhi = _footprint(geom, span, g, x0, y0, x1, y1)
                    dy = ti.cast(y, ti.f32) + 0.5 - py
                    lo, hi = _row_span(px, qa, qb, qc, dy, xlo, xhi, k2, 0.0)
                    cr = colors[g, 0]
                    cg = colors[g, 1]
                    cb = colors[g, 2]
                    w, ratio, step = _row_weights(qa, qb, qc, ti.cast(lo, ti.f32) + 0.5 - px, dy)
                    for x in range(lo, hi + 1):
                        row[x - x0, 0] += w * cr
                        row[x - x0, 1] += w * cg
                        row[x - x0, 2] += w * cb
                        w *= ratio
                        ratio *= step
            for x in range(x0, x1 + 1):
                for ch in ti.static(range(3)):
                    image[y, x, ch] = row[x - x0, ch]


@ti.kernel
def _backward_sum(
    k_begin: ti.i32,
    k_end: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    pair_tile: Arr1i,
    tile_list: Arr1i,
    v_image: Arr3f,
    pair_grad: Arr2f,
):
    for k in range(k_begin, k_end):
        g = tile_list[k]
        x0, y0, x1, y1 = _tile_box(pair_tile[k], tiles_x, v_image.shape[1], v_image.shape[0])
        px, py, qa, qb, qc, xlo, xhi, ylo, yhi = _footprint(geom, span, g, x0, y0, x1, y1)
        cr = colors[g, 0]
        cg = colors[g, 1]
        cb = colors[g, 2]
        v_px = v_py = v_qa = v_qb = v_qc = v_r = v_g = v_b = 0.0
        for y in range(ylo, yhi + 1):
            dy = ti.cast(y, ti.f32) + 0.5 - py
            lo, hi = _row_span(px, qa, qb, qc, dy, xlo, xhi, k2, 0.0)
            dx = ti.cast(lo, ti.f32) + 0.5 - px
            w, ratio, step = _row_weights(qa, qb, qc, dx, dy)
            for x in range(lo, hi + 1):
                vr = v_image[y, x, 0]
                vg = v_image[y, x, 1]
                vb = v_image[y, x, 2]
                v_r += w * vr
                v_g += w * vg
                v_b += w * vb
                v_q = -0.5 * w * (cr * vr + cg * vg + cb * vb)
                v_px += -2.0 * v_q * (qa * dx + qb * dy)
                v_py += -2.0 * v_q * (qb * dx + qc * dy)
                v_qa += v_q * dx * dx
                v_qb += 2.0 * v_q * dx * dy
                v_qc += v_q * dy * dy
                w *= ratio
                ratio *= step
                dx += 1.0
        _store_gradient(pair_grad, k, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, 0.0)


@ti.func
def _store_gradient(pair_grad: Arr2f, row: ti.i32, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, v_op):
    """Write one partial gradient; partials are summed per Gaussian in a fixed order by ``_reduce``."""
    pair_grad[row, 0] = v_px
    pair_grad[row, 1] = v_py
    pair_grad[row, 2] = v_qa
    pair_grad[row, 3] = v_qb
    pair_grad[row, 4] = v_qc
    pair_grad[row, 5] = v_r
    pair_grad[row, 6] = v_g
    pair_grad[row, 7] = v_b
    pair_grad[row, 8] = v_op


@ti.kernel
def _reduce(pair_grad: Arr2f, rows: ti.i32, gauss_offsets: Arr1i, gauss_pairs: Arr1i, v_geom: Arr2f):
    """v_geom[g] = sum of g's partials, always in the same order: seeded fits stay bit-reproducible,
    which float atomics from parallel tiles would not be."""
    for g in range(v_geom.shape[0]):
        acc = ti.Vector([0.0] * V_COLS, dt=ti.f32)
        for j in range(gauss_offsets[g], gauss_offsets[g + 1]):
            base = gauss_pairs[j] * rows
            for r in range(rows):
                for c in ti.static(range(V_COLS)):
                    acc[c] += pair_grad[base + r, c]
        for c in ti.static(range(V_COLS)):
            v_geom[g, c] = acc[c]


@ti.kernel
def _forward_alpha(
    t_begin: ti.i32,
    t_end: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    opacities: Arr1f,
    offsets: Arr1i,
    tile_list: Arr1i,
    image: Arr3f,
    final_t: Arr2f,
    n_contrib: Arr2i,
):
    """One item per tile row: walk the tile's Gaussians in stored order, compositing each into the pixels of
    the row it covers; a pixel stops once its transmittance would fall below T_MIN."""
    for item in range((t_end - t_begin) * TILE):
        t = t_begin + item // TILE
        x0, y0, x1, y1 = _tile_box(t, tiles_x, image.shape[1], image.shape[0])
        y = y0 + item % TILE
        if y <= y1:
            trans = ti.Vector([1.0] * TILE, dt=ti.f32)
            rgb = ti.Matrix.zero(ti.f32, TILE, 3)
            last = ti.Vector([0] * TILE, dt=ti.i32)
            active = x1 - x0 + 1
            for k in range(offsets[t], offsets[t + 1]):
                if active == 0:
                    break
                g = tile_list[k]
                if span[g, 2] <= y <= span[g, 3]:
                    px, py, qa, qb, qc, xlo, xhi, _, _ = _footprint(geom, span, g, x0, y0, x1, y1)
                    dy = ti.cast(y, ti.f32) + 0.5 - py
                    lo, hi = _row_span(px, qa, qb, qc, dy, xlo, xhi, k2, 1e-3)
                    for x in range(lo, hi + 1):
                        j = x - x0
                        dx = ti.cast(x, ti.f32) + 0.5 - px
                        q = qa * dx * dx + 2.0 * qb * dx * dy + qc * dy * dy
                        if last[j] >= 0 and q <= k2:
                            alpha = ti.min(ALPHA_MAX, opacities[g] * fast_exp(-0.5 * q))
                            if alpha >= ALPHA_MIN:
                                after = trans[j] * (1.0 - alpha)
                                if after < T_MIN:
                                    last[j] = -1 - last[j]  # done: keep the count, flag the pixel
                                    active -= 1
                                else:
                                    for ch in ti.static(range(3)):
                                        rgb[j, ch] += alpha * trans[j] * colors[g, ch]
                                    trans[j] = after
                                    last[j] = k + 1 - offsets[t]
            for x in range(x0, x1 + 1):
                j = x - x0
                for ch in ti.static(range(3)):
                    image[y, x, ch] = rgb[j, ch]
                final_t[y, x] = trans[j]
                n_contrib[y, x] = offsets[t] + (last[j] if last[j] >= 0 else -1 - last[j])


@ti.kernel
def _backward_alpha(
    t_begin: ti.i32,
    t_end: ti.i32,
    tiles_x: ti.i32,
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    opacities: Arr1f,
    offsets: Arr1i,
    tile_list: Arr1i,
    n_contrib: Arr2i,
    final_t: Arr2f,
    v_image: Arr3f,
    pair_grad: Arr2f,
):
    """Back to front per tile row: the transmittance and the colour behind each pixel are rewound as the
    Gaussians are peeled off, which gives dC/dalpha without storing every layer."""
    for item in range((t_end - t_begin) * TILE):
        t = t_begin + item // TILE
        x0, y0, x1, y1 = _tile_box(t, tiles_x, v_image.shape[1], v_image.shape[0])
        y = y0 + item % TILE
        if y <= y1:
            trans = ti.Vector([1.0] * TILE, dt=ti.f32)
            behind = ti.Matrix.zero(ti.f32, TILE, 3)
            for x in range(x0, x1 + 1):
                trans[x - x0] = final_t[y, x]
            for kk in range(offsets[t + 1] - offsets[t]):
                k = offsets[t + 1] - 1 - kk
                g = tile_list[k]
                if span[g, 2] <= y <= span[g, 3]:
                    px, py, qa, qb, qc, xlo, xhi, _, _ = _footprint(geom, span, g, x0, y0, x1, y1)
                    dy = ti.cast(y, ti.f32) + 0.5 - py
                    lo, hi = _row_span(px, qa, qb, qc, dy, xlo, xhi, k2, 1e-3)
                    col = ti.Vector([colors[g, 0], colors[g, 1], colors[g, 2]])
                    op = opacities[g]
                    v_px = v_py = v_qa = v_qb = v_qc = v_r = v_g = v_b = v_op = 0.0
                    touched = False
                    for x in range(lo, hi + 1):
                        j = x - x0
                        dx = ti.cast(x, ti.f32) + 0.5 - px
                        q = qa * dx * dx + 2.0 * qb * dx * dy + qc * dy * dy
                        if k < n_contrib[y, x] and q <= k2:
                            w = fast_exp(-0.5 * q)
                            raw = op * w
                            alpha = ti.min(ALPHA_MAX, raw)
                            if alpha >= ALPHA_MIN:
                                touched = True
                                t_before = trans[j] / (1.0 - alpha)
                                v_pix = ti.Vector([v_image[y, x, 0], v_image[y, x, 1], v_image[y, x, 2]])
                                back = ti.Vector([behind[j, 0], behind[j, 1], behind[j, 2]])
                                weight = alpha * t_before
                                v_r += weight * v_pix[0]
                                v_g += weight * v_pix[1]
                                v_b += weight * v_pix[2]
                                if raw < ALPHA_MAX:
                                    v_alpha = t_before * (col - back).dot(v_pix)
                                    v_op += v_alpha * w
                                    v_q = -0.5 * w * op * v_alpha
                                    v_px += -2.0 * v_q * (qa * dx + qb * dy)
                                    v_py += -2.0 * v_q * (qb * dx + qc * dy)
                                    v_qa += v_q * dx * dx
                                    v_qb += 2.0 * v_q * dx * dy
                                    v_qc += v_q * dy * dy
                                back = alpha * col + (1.0 - alpha) * back
                                for ch in ti.static(range(3)):
                                    behind[j, ch] = back[ch]
                                trans[j] = t_before
                    if touched:
                        _store_gradient(pair_grad, k * TILE + y - y0, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, v_op)


@ti.kernel
def _chain_to_parameters(
    chol: Arr2f, v_geom: Arr2f, sx: ti.f32, sy: ti.f32, floor: ti.f32, v_means: Arr2f, v_chol: Arr2f
):
    """From dL/d(px, py, conic) to dL/d(mean, Cholesky factors), through covariance = S L L^T S + floor I."""
    for i in range(chol.shape[0]):
        l11 = chol[i, 0]
        l21 = chol[i, 1]
        l22 = chol[i, 2]
        a, b, c, det = pixel_covariance(l11, l21, l22, sx, sy, floor)
        d2 = det * det
        v_qa = v_geom[i, 2]
        v_qb = v_geom[i, 3]
        v_qc = v_geom[i, 4]
        v_a = (-c * c * v_qa + b * c * v_qb - b * b * v_qc) / d2
        v_b = (2.0 * b * c * v_qa - (a * c + b * b) * v_qb + 2.0 * a * b * v_qc) / d2
        v_c = (-b * b * v_qa + a * b * v_qb - a * a * v_qc) / d2
        v_chol[i, 0] = 2.0 * sx * sx * l11 * v_a + sx * sy * l21 * v_b
        v_chol[i, 1] = sx * sy * l11 * v_b + 2.0 * sy * sy * l21 * v_c
        v_chol[i, 2] = 2.0 * sy * sy * l22 * v_c
        v_means[i, 0] = v_geom[i, 0] * sx
        v_means[i, 1] = v_geom[i, 1] * sy


@dataclass(frozen=True)
class RasterContext:
    """What the backward pass needs from the forward one."""

    settings: RasterSettings
    means: np.ndarray  # [N, 2] float32
    chol: np.ndarray  # [N, 3] float32
    colors: np.ndarray  # [N, 3] float32
    opacities: np.ndarray  # [N] float32
    binning: Binning
    final_t: np.ndarray | None  # [H, W] float32, alpha mode only
    n_contrib: np.ndarray | None  # [H, W] int32, alpha mode only


def launch_chunks(binning: Binning, settings: RasterSettings, budget: int | None = None) -> list[tuple[int, int]]:
    """Split the tiles into consecutive runs of about ``budget`` pixel evaluations each (default WORK_PER_LAUNCH).

    Alpha compositing does about twice the work per pixel evaluation of the plain sum, so it counts double.
    """
    budget = budget or WORK_PER_LAUNCH
    weight = 2 if settings.mode is RenderMode.ALPHA else 1
    cumulative = np.cumsum(weight * binning.tile_work + TILE * TILE)  # an empty tile still costs its loop
    cuts = np.searchsorted(cumulative, np.arange(budget, int(cumulative[-1]), budget), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(cumulative)]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def _f32(x: np.ndarray, shape_tail: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.shape[1:] != shape_tail:
        msg = f"{name} must have shape [N, {', '.join(map(str, shape_tail))}], got {arr.shape}"
        raise ValueError(msg)
    if not np.isfinite(arr).all():
        msg = f"{name} contains NaN or infinity"
        raise ValueError(msg)
    return arr


def rasterize_forward(
    means: np.ndarray,
    chol: np.ndarray,
    colors: np.ndarray,
    opacities: np.ndarray,
    settings: RasterSettings,
) -> tuple[np.ndarray, RasterContext]:
    """Render the Gaussians.

    Parameters
    ----------
    means : [N, 2] float, normalized image coordinates (the image is [0, 1] x [0, 1])
    chol : [N, 3] float, Cholesky factors (l11, l21, l22) of the normalized covariance
    colors : [N, 3] float, RGB, unbounded (the sum mode needs negative colours)
    opacities : [N] float, used by ``RenderMode.ALPHA`` only
    settings : output size, viewport, mode, cut-off and covariance floor

    Returns
    -------
    image : [H, W, 3] float32, not clipped
    ctx : what ``rasterize_backward`` needs
    """
    ensure_backend()
    s = settings
    means = _f32(means, (2,), "means")
    chol = _f32(chol, (3,), "chol")
    colors = _f32(colors, (3,), "colors")
    opacities = _f32(np.reshape(opacities, (-1, 1)), (1,), "opacities").reshape(-1)
    if not len(means) == len(chol) == len(colors) == len(opacities):
        msg = "means, chol, colors and opacities must describe the same number of Gaussians"
        raise ValueError(msg)
    binning = bin_gaussians(means, chol, s)
    image = np.zeros((s.height, s.width, 3), dtype=np.float32)
    tiles_x = s.tiles[0]
    k2 = s.cutoff_sigma**2
    final_t = n_contrib = None
    if s.mode is RenderMode.ALPHA:
        final_t = np.ones((s.height, s.width), dtype=np.float32)
        n_contrib = np.zeros((s.height, s.width), dtype=np.int32)
    for begin, end in launch_chunks(binning, s):
        if s.mode is RenderMode.ALPHA:
            launch(
                _forward_alpha,
                begin,
                end,
                tiles_x,
                k2,
                binning.geom,
                binning.span,
                colors,
                opacities,
                binning.tile_offsets,
                binning.tile_list,
                image,
                final_t,
                n_contrib,
            )
        else:
            launch(
                _forward_sum,
                begin,
                end,
                tiles_x,
                k2,
                binning.geom,
                binning.span,
                colors,
                binning.tile_offsets,
                binning.tile_list,
                image,
            )
    return image, RasterContext(s, means, chol, colors, opacities, binning, final_t, n_contrib)


def rasterize_backward(ctx: RasterContext, v_image: np.ndarray) -> Gradients:
    """Gradients of a loss with respect to every parameter, given ``v_image`` = dLoss/dimage ``[H, W, 3]``."""
    ensure_backend()
    s = ctx.settings
    v_image = np.ascontiguousarray(v_image, dtype=np.float32)
    if v_image.shape != (s.height, s.width, 3):
        msg = f"v_image must have shape {(s.height, s.width, 3)}, got {v_image.shape}"
        raise ValueError(msg)
    n = len(ctx.means)
    v_geom = np.zeros((n, V_COLS), dtype=np.float32)
    v_means = np.zeros((n, 2), dtype=np.float32)
    v_chol = np.zeros((n, 3), dtype=np.float32)
    if n == 0:
        return Gradients(v_means, v_chol, np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
    b = ctx.binning
    tiles_x = s.tiles[0]
    k2 = s.cutoff_sigma**2
    # partial gradients: one per (tile, Gaussian) pair, or per (tile row, Gaussian) pair in alpha mode
    rows = TILE if s.mode is RenderMode.ALPHA else 1
    pair_grad = np.zeros((len(b.tile_list) * rows, V_COLS), dtype=np.float32)
    for begin, end in launch_chunks(b, s):
        if s.mode is RenderMode.ALPHA:
            launch(
                _backward_alpha,
                begin,
                end,
                tiles_x,
                k2,
                b.geom,
                b.span,
                ctx.colors,
                ctx.opacities,
                b.tile_offsets,
                b.tile_list,
                ctx.n_contrib,
                ctx.final_t,
                v_image,
                pair_grad,
            )
        else:
            launch(
                _backward_sum,
                b.tile_offsets[begin],
                b.tile_offsets[end],
                tiles_x,
                k2,
                b.geom,
                b.span,
                ctx.colors,
                b.pair_tile,
                b.tile_list,
                v_image,
                pair_grad,
            )
    if len(pair_grad):
        launch(_reduce, pair_grad, rows, b.gauss_offsets, b.gauss_pairs, v_geom)
    sx, sy = s.scale
    launch(_chain_to_parameters, ctx.chol, v_geom, sx, sy, s.cov_floor, v_means, v_chol)
    return Gradients(v_means, v_chol, v_geom[:, 5:8].copy(), v_geom[:, 8].copy())
