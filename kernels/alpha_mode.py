"""The alpha-compositing rasterizer: front to back in stored order (3DGS's rules), and its backward pass.

Forward: one item per tile row, per-pixel transmittance in registers, a row stops when all its pixels are
done. Backward: back to front per tile row, rewinding transmittance and the colour behind each pixel; each
(tile row, Gaussian) pair writes its own partial gradient, summed in a fixed order by ``reduce_alpha``.
"""

import taichi as ti

from .binning import Arr1f, Arr1i, Arr2f, Arr2i
from .fastmath import fast_exp
from .settings import ALPHA_MAX, ALPHA_MIN, T_MIN, TILE
from .tiles import clipped_span, reduce_and_chain, row_span, store_gradient, tile_box

Arr3f = ti.types.ndarray(dtype=ti.f32, ndim=3)


@ti.kernel
def forward_alpha(
    t_begin: ti.i32,
    t_end: ti.i32,
    tile: ti.types.vector(2, ti.i32),
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
    for item in range((t_end - t_begin) * tile[1]):
        t = t_begin + item // tile[1]
        x0, y0, x1, y1 = tile_box(t, tile, image.shape[1], image.shape[0])
        y = y0 + item % tile[1]
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
                    px, py, qa, qb, qc = geom[g, 0], geom[g, 1], geom[g, 2], geom[g, 3], geom[g, 4]
                    xlo, xhi, _, _ = clipped_span(span, g, x0, y0, x1, y1)
                    dy = ti.cast(y, ti.f32) + 0.5 - py
                    lo, hi = row_span(geom, g, dy, xlo, xhi, k2, 1e-3)
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
def backward_alpha(
    t_begin: ti.i32,
    t_end: ti.i32,
    tile: ti.types.vector(2, ti.i32),
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
    for item in range((t_end - t_begin) * tile[1]):
        t = t_begin + item // tile[1]
        x0, y0, x1, y1 = tile_box(t, tile, v_image.shape[1], v_image.shape[0])
        y = y0 + item % tile[1]
        if y <= y1:
            trans = ti.Vector([1.0] * TILE, dt=ti.f32)
            behind = ti.Matrix.zero(ti.f32, TILE, 3)
            for x in range(x0, x1 + 1):
                trans[x - x0] = final_t[y, x]
            for kk in range(offsets[t + 1] - offsets[t]):
                k = offsets[t + 1] - 1 - kk
                g = tile_list[k]
                if span[g, 2] <= y <= span[g, 3]:
                    px, py, qa, qb, qc = geom[g, 0], geom[g, 1], geom[g, 2], geom[g, 3], geom[g, 4]
                    xlo, xhi, _, _ = clipped_span(span, g, x0, y0, x1, y1)
                    dy = ti.cast(y, ti.f32) + 0.5 - py
                    lo, hi = row_span(geom, g, dy, xlo, xhi, k2, 1e-3)
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
                        store_gradient(
                            pair_grad, k * tile[1] + y - y0, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, v_op
                        )


@ti.kernel
def reduce_alpha(
    pair_grad: Arr2f,
    tile_rows: ti.i32,
    gauss_offsets: Arr1i,
    gauss_pairs: Arr1i,
    chol: Arr2f,
    scale: ti.types.vector(3, ti.f32),
    v_means: Arr2f,
    v_chol: Arr2f,
    v_colors: Arr2f,
    v_opacities: Arr1f,
):
    """Every Gaussian's partials (``tile_rows`` per pair, one per tile row), summed in a fixed order, then
    chained."""
    for g in range(chol.shape[0]):
        reduce_and_chain(
            g, pair_grad, tile_rows, gauss_offsets, gauss_pairs, chol, scale, v_means, v_chol, v_colors, v_opacities
        )
