"""Pieces every rasterizer kernel shares: a tile's box, a row's span inside a cut-off ellipse, and the
ordered reduction of partial gradients followed by the chain rule to the stored parameters."""

import taichi as ti

from .binning import Arr1f, Arr1i, Arr2f, Arr2i, pixel_covariance

V_COLS = 9
"""Per-Gaussian gradient accumulator: v_px, v_py, v_A, v_B, v_C, v_r, v_g, v_b, v_opacity."""


@ti.func
def row_span(geom: Arr2f, g: ti.i32, dy: ti.f32, xlo: ti.i32, xhi: ti.i32, k2: ti.f32, margin: ti.f32):
    """Pixels of a row at offset dy from Gaussian g's mean inside its cut-off ellipse q <= k2, within
    [xlo, xhi].

    ``margin`` widens the span (in pixels) for loops that test q <= k2 themselves, so rounding never drops a
    pixel the reference keeps.
    """
    qa = geom[g, 2]
    bdy = geom[g, 3] * dy
    disc = bdy * bdy - qa * (geom[g, 4] * dy * dy - k2)
    lo = xhi + 1
    hi = xhi
    if disc >= 0.0:
        inv_qa = geom[g, 8]
        cx = geom[g, 0] - 0.5 - bdy * inv_qa
        half = ti.sqrt(disc) * inv_qa + margin
        lo = ti.max(xlo, ti.cast(ti.ceil(ti.max(cx - half, -1.0)), ti.i32))
        hi = ti.min(xhi, ti.cast(ti.floor(ti.min(cx + half, ti.cast(xhi + 1, ti.f32))), ti.i32))
    return lo, hi


@ti.func
def tile_box(t: ti.i32, tile, width: ti.i32, height: ti.i32):
    """First and last pixel column and row of tile t, for tiles of ``tile`` = (width, height) pixels."""
    tiles_x = (width + tile[0] - 1) // tile[0]
    x0 = (t % tiles_x) * tile[0]
    y0 = (t // tiles_x) * tile[1]
    return x0, y0, ti.min(x0 + tile[0], width) - 1, ti.min(y0 + tile[1], height) - 1


@ti.func
def clipped_span(span: Arr2i, g: ti.i32, x0: ti.i32, y0: ti.i32, x1: ti.i32, y1: ti.i32):
    """Gaussian g's pixel box within a tile's box."""
    return ti.max(span[g, 0], x0), ti.min(span[g, 1], x1), ti.max(span[g, 2], y0), ti.min(span[g, 3], y1)


@ti.func
def store_gradient(pair_grad: Arr2f, row: ti.i32, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, v_op):
    """Write one partial gradient; partials are summed per Gaussian in a fixed order by ``reduce_and_chain``."""
    pair_grad[row, 0] = v_px
    pair_grad[row, 1] = v_py
    pair_grad[row, 2] = v_qa
    pair_grad[row, 3] = v_qb
    pair_grad[row, 4] = v_qc
    pair_grad[row, 5] = v_r
    pair_grad[row, 6] = v_g
    pair_grad[row, 7] = v_b
    pair_grad[row, 8] = v_op


@ti.func
def reduce_and_chain(
    g: ti.i32,
    pair_grad: Arr2f,
    rows: ti.i32,
    gauss_offsets: Arr1i,
    gauss_pairs: Arr1i,
    chol: Arr2f,
    scale: ti.types.vector(3, ti.f32),
    v_means: Arr2f,
    v_chol: Arr2f,
    v_colors: Arr2f,
    v_opacities: Arr1f,
):
    """Sum Gaussian g's partials always in the same order (float atomics from parallel tiles would not be
    bit-reproducible), then go from dL/d(px, py, conic) to dL/d(mean, Cholesky factors) through
    covariance = S L L^T S + floor I; ``scale`` = (sx, sy, floor)."""
    acc = ti.Vector([0.0] * V_COLS, dt=ti.f32)
    for j in range(gauss_offsets[g], gauss_offsets[g + 1]):
        base = gauss_pairs[j] * rows
        for r in range(rows):
            for c in ti.static(range(V_COLS)):
                acc[c] += pair_grad[base + r, c]
    sx, sy = scale[0], scale[1]
    l11, l21, l22 = chol[g, 0], chol[g, 1], chol[g, 2]
    a, b, c, det = pixel_covariance(l11, l21, l22, sx, sy, scale[2])
    d2 = det * det
    v_a = (-c * c * acc[2] + b * c * acc[3] - b * b * acc[4]) / d2
    v_b = (2.0 * b * c * acc[2] - (a * c + b * b) * acc[3] + 2.0 * a * b * acc[4]) / d2
    v_c = (-b * b * acc[2] + a * b * acc[3] - a * a * acc[4]) / d2
    v_chol[g, 0] = 2.0 * sx * sx * l11 * v_a + sx * sy * l21 * v_b
    v_chol[g, 1] = sx * sy * l11 * v_b + 2.0 * sy * sy * l21 * v_c
    v_chol[g, 2] = 2.0 * sy * sy * l22 * v_c
    v_means[g, 0] = acc[0] * sx
    v_means[g, 1] = acc[1] * sy
    for ch in ti.static(range(3)):
        v_colors[g, ch] = acc[5 + ch]
    v_opacities[g] = acc[8]
