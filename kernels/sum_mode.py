"""The accumulated-sum rasterizer (pixel = sum of colour * G): forward with an optional L2 loss, and
backward with the per-Gaussian reduction in the same launch.

Along a row the exponent is quadratic in x, so consecutive values of G differ by a factor that itself
changes by the constant exp(-A): after two exps per row, two multiplies per pixel. The backward pass sums
the moments of dL/dq along each row (sum q', sum q' dx, sum q' dx^2) and turns them into conic and mean
gradients once per row instead of once per pixel.
"""

import taichi as ti

from .binning import Arr1f, Arr1i, Arr2f, Arr2i
from .fastmath import fast_exp
from .tiles import clipped_span, reduce_and_chain, store_gradient, tile_box

Arr3f = ti.types.ndarray(dtype=ti.f32, ndim=3)
Arr1d = ti.types.ndarray(dtype=ti.f64, ndim=1)


SPREAD = 256
"""Loop iterations per tile in the forward launch: Taichi's CPU backend deals out parallel loops in blocks
of at least 512 iterations, so a loop over the 192 64x32 tiles of a Kodak picture would be one block for
one thread; spreading each tile over 256 iterations (255 of them empty) gives 96 blocks of 2 tiles."""
ROWS = 2
"""Rows whose set-up (span, two exps) is computed together: independent work the CPU overlaps, where one
row at a time waits on its sqrt and exps (two measured 5% faster than four on 64x32 tiles, which set up
rows past a Gaussian's last one more often, and 10% faster than one)."""


@ti.func
def _rows_setup(shape, y0: ti.i32, xlo: ti.i32, xhi: ti.i32, k2: ti.f32):
    """For rows y0 .. y0 + ROWS - 1: the span of pixels inside the cut-off, G at its first pixel and the
    ratio G(x + 1) / G(x) there. ``shape`` = (px, py, A, B, C, 1/A)."""
    px, py, qa, qb, qc, inv_qa = shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]
    lo = ti.Vector([0] * ROWS, dt=ti.i32)
    hi = ti.Vector([0] * ROWS, dt=ti.i32)
    w = ti.Vector([0.0] * ROWS, dt=ti.f32)
    ratio = ti.Vector([0.0] * ROWS, dt=ti.f32)
    for r in ti.static(range(ROWS)):
        dy = ti.cast(y0 + r, ti.f32) + 0.5 - py
        bdy = qb * dy
        disc = bdy * bdy - qa * (qc * dy * dy - k2)
        cx = px - 0.5 - bdy * inv_qa
        half = ti.sqrt(ti.max(disc, 0.0)) * inv_qa
        lo[r] = ti.max(xlo, ti.cast(ti.ceil(ti.max(cx - half, -1.0)), ti.i32))
        hi[r] = ti.min(xhi, ti.cast(ti.floor(ti.min(cx + half, ti.cast(xhi + 1, ti.f32))), ti.i32))
        if disc < 0.0:
            hi[r] = lo[r] - 1
        dx = ti.cast(lo[r], ti.f32) + 0.5 - px
        lin = qa * dx + bdy
        q = (lin + bdy) * dx + qc * dy * dy
        w[r] = fast_exp(-0.5 * ti.min(q, 100.0))
        ratio[r] = fast_exp(ti.min(-lin - 0.5 * qa, 80.0))
    return lo, hi, w, ratio


@ti.func
def gaussian_shape(geom: Arr2f, g: ti.i32):
    """(px, py, A, B, C, 1/A) of Gaussian g, loaded once into registers."""
    return ti.Vector([geom[g, 0], geom[g, 1], geom[g, 2], geom[g, 3], geom[g, 4], geom[g, 8]])


@ti.func
def _draw_rows(
    geom: Arr2f,
    g: ti.i32,
    k2: ti.f32,
    colour,
    box,
    image: Arr1f,
    width: ti.i32,
    keep: ti.template(),
    row0: ti.i32,
    rows: Arr2f,
):
    """Add Gaussian g (colour ``colour``) to the rows of ``box`` = (xlo, xhi, ylo, yhi) it covers; with
    ``keep``, write each row's set-up to ``rows[row0 + y - ylo]`` for the backward pass."""
    steps = ti.Vector([geom[g, 7], geom[g, 9], geom[g, 10]])
    shape = gaussian_shape(geom, g)
    for block in range((box[3] - box[2]) // ROWS + 1):
        y0 = box[2] + block * ROWS
        lo, hi, w0, ratio0 = _rows_setup(shape, y0, box[0], box[1], k2)
        for r in ti.static(range(ROWS)):
            if y0 + r <= box[3]:
                if ti.static(keep):
                    _keep_row(rows, row0 + y0 + r - box[2], lo[r], hi[r], w0[r], ratio0[r])
                _add_span(image, ((y0 + r) * width + lo[r]) * 3, lo[r], hi[r], w0[r], ratio0[r], steps, colour)


@ti.func
def _add_span(image: Arr1f, i: ti.i32, lo: ti.i32, hi: ti.i32, w: ti.f32, ratio: ti.f32, steps, colour):
    """Add colour * G to pixels lo..hi of a row (pixel lo at flat index i), two pixels a turn: G(x + 2) =
    G(x) q with q = r(x) r(x + 1), which steps by exp(-4A); ``steps`` = (exp(-A), exp(-2A), exp(-4A)).
    Each pixel then waits on one multiply per two pixels, not one per pixel, and with one index per row
    (not three per pixel) the loop is a third shorter: the forward's pixels -25% (docs/kernels.md)."""
    q = ratio * ratio * steps[0]
    for _ in range((hi - lo + 1) // 2):
        w1 = w * ratio
        for ch in ti.static(range(3)):
            image[i + ch] = image[i + ch] + w * colour[ch]
            image[i + 3 + ch] = image[i + 3 + ch] + w1 * colour[ch]
        w *= q
        q *= steps[2]
        ratio *= steps[1]
        i += 6
    if hi >= lo and (hi - lo) % 2 == 0:
        for ch in ti.static(range(3)):
            image[i + ch] = image[i + ch] + w * colour[ch]


@ti.func
def _keep_row(rows: Arr2f, i: ti.i32, lo: ti.i32, hi: ti.i32, w: ti.f32, ratio: ti.f32):
    """A row's set-up as four floats (pixel indices are exact in float32 up to 2^24)."""
    rows[i, 0] = ti.cast(lo, ti.f32)
    rows[i, 1] = ti.cast(hi, ti.f32)
    rows[i, 2] = w
    rows[i, 3] = ratio


@ti.func
def _tile_loss(box, width: ti.i32, image: Arr1f, target: Arr1f, v_scale: ti.f32, v_image: Arr1f):
    """dL/dimage = v_scale * (image - target) over a tile, and its squared error: float32 per row and
    channel (three short sums the CPU runs side by side), float64 across rows."""
    sse = ti.cast(0.0, ti.f64)
    for y in range(box[1], box[3] + 1):
        row = ti.Vector([0.0, 0.0, 0.0])
        i = (y * width + box[0]) * 3
        for _ in range(box[0], box[2] + 1):
            for ch in ti.static(range(3)):
                diff = image[i + ch] - target[i + ch]
                v_image[i + ch] = diff * v_scale
                row[ch] += diff * diff
            i += 3
        sse += ti.cast(row[0], ti.f64) + ti.cast(row[1], ti.f64) + ti.cast(row[2], ti.f64)
    return sse


@ti.kernel
def forward_sum(
    t_begin: ti.i32,
    t_end: ti.i32,
    tile: ti.types.vector(2, ti.i32),
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    offsets: Arr1i,
    tile_list: Arr1i,
    width: ti.i32,
    height: ti.i32,
    image: Arr1f,
    with_loss: ti.template(),
    target: Arr1f,
    v_scale: ti.f32,
    v_image: Arr1f,
    tile_sse: Arr1d,
    row_offsets: Arr1i,
    rows: Arr2f,
):
    """One item per tile, so pixel writes are plain; each Gaussian of the tile draws all its rows there.
    Pictures are flat arrays (``height`` rows of ``width`` RGB pixels). With ``with_loss`` it also writes
    dL/dimage = v_scale * (image - target), the tile's squared error and every row's set-up (pair k's rows
    from ``row_offsets[k]``), which the backward pass then reuses."""
    for item in range((t_end - t_begin) * SPREAD):
        if item % SPREAD == 0:
            t = t_begin + item // SPREAD
            x0, y0, x1, y1 = tile_box(t, tile, width, height)
            for y in range(y0, y1 + 1):
                for i in range((y * width + x0) * 3, (y * width + x1 + 1) * 3):
                    image[i] = 0.0
            for k in range(offsets[t], offsets[t + 1]):
                g = tile_list[k]
                colour = ti.Vector([colors[g, 0], colors[g, 1], colors[g, 2]])
                box = ti.Vector(clipped_span(span, g, x0, y0, x1, y1))
                _draw_rows(geom, g, k2, colour, box, image, width, with_loss, row_offsets[k], rows)
            if ti.static(with_loss):
                tile_sse[t] = _tile_loss(ti.Vector([x0, y0, x1, y1]), width, image, target, v_scale, v_image)


@ti.func
def _stored_or_computed(kept: ti.template(), shape, y0: ti.i32, xlo, xhi, k2: ti.f32, i: ti.i32, rows: Arr2f):
    """Rows y0 .. y0 + ROWS - 1's set-up: as the forward pass kept it, or computed again."""
    lo = ti.Vector([0] * ROWS, dt=ti.i32)
    hi = ti.Vector([0] * ROWS, dt=ti.i32)
    w = ti.Vector([0.0] * ROWS, dt=ti.f32)
    ratio = ti.Vector([0.0] * ROWS, dt=ti.f32)
    if ti.static(kept):
        for r in ti.static(range(ROWS)):
            if i + r < rows.shape[0]:
                lo[r] = ti.cast(rows[i + r, 0], ti.i32)
                hi[r] = ti.cast(rows[i + r, 1], ti.i32)
                w[r] = rows[i + r, 2]
                ratio[r] = rows[i + r, 3]
    else:
        lo, hi, w, ratio = _rows_setup(shape, y0, xlo, xhi, k2)
    return lo, hi, w, ratio


@ti.func
def _pair_gradient(
    k: ti.i32,
    g: ti.i32,
    t: ti.i32,
    tile,
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    v_image: Arr3f,
    kept: ti.template(),
    row0: ti.i32,
    rows: Arr2f,
    shape_terms: ti.template(),
):
    """Gaussian g's gradient from the pixels of tile t: v_px, v_py, v_A, v_B, v_C, v_r, v_g, v_b. Without
    ``shape_terms`` only the colour sums are taken (the same operations, so the same bits) and the first five
    are zero: what a colour refit needs."""
    x0, y0, x1, y1 = tile_box(t, tile, v_image.shape[1], v_image.shape[0])
    xlo, xhi, ylo, yhi = clipped_span(span, g, x0, y0, x1, y1)
    px = geom[g, 0]
    py = geom[g, 1]
    step = geom[g, 7]
    cr = colors[g, 0]
    cg = colors[g, 1]
    cb = colors[g, 2]
    shape = gaussian_shape(geom, g)
    v_r = v_g = v_b = 0.0
    m0y = m0yy = m1 = m1y = m2 = 0.0  # moments of w * (colour . dL/dpixel) over dx and dy
    for block in range((yhi - ylo) // ROWS + 1):
        y0 = ylo + block * ROWS
        lo, hi, w0, ratio0 = _stored_or_computed(kept, shape, y0, xlo, xhi, k2, row0 + y0 - ylo, rows)
        for r in ti.static(range(ROWS)):
            if y0 + r <= yhi:
                y = y0 + r
                dy = ti.cast(y, ti.f32) + 0.5 - py
                dx = ti.cast(lo[r], ti.f32) + 0.5 - px
                w = w0[r]
                ratio = ratio0[r]
                s0 = s1 = s2 = 0.0
                for x in range(lo[r], hi[r] + 1):
                    vr = v_image[y, x, 0]
                    vg = v_image[y, x, 1]
                    vb = v_image[y, x, 2]
                    v_r += w * vr
                    v_g += w * vg
                    v_b += w * vb
                    if ti.static(shape_terms):
                        vq = w * (cr * vr + cg * vg + cb * vb)
                        s0 += vq
                        moment = vq * dx
                        s1 += moment
                        s2 += moment * dx
                        dx += 1.0
                    w *= ratio
                    ratio *= step
                m0y += s0 * dy
                m0yy += s0 * dy * dy
                m1 += s1
                m1y += s1 * dy
                m2 += s2
    qa = geom[g, 2]
    qb = geom[g, 3]
    qc = geom[g, 4]
    # dL/dq = -w (colour . dL/dpixel) / 2 per pixel, and q = A dx^2 + 2 B dx dy + C dy^2 with d = pixel - mean
    return qa * m1 + qb * m0y, qb * m1 + qc * m0y, -0.5 * m2, -m1y, -0.5 * m0yy, v_r, v_g, v_b


@ti.kernel
def backward_sum(
    k_begin: ti.i32,
    k_end: ti.i32,
    reduce_count: ti.i32,
    tile: ti.types.vector(2, ti.i32),
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    pair_tile: Arr1i,
    tile_list: Arr1i,
    v_image: Arr3f,
    pair_grad: Arr2f,
    gauss_offsets: Arr1i,
    gauss_pairs: Arr1i,
    chol: Arr2f,
    scale: ti.types.vector(3, ti.f32),
    v_means: Arr2f,
    v_chol: Arr2f,
    v_colors: Arr2f,
    v_opacities: Arr1f,
    kept: ti.template(),
    row_offsets: Arr1i,
    rows: Arr2f,
):
    """One item per (tile, Gaussian) pair in [k_begin, k_end), each writing its own partial; then, in the
    same launch, the first ``reduce_count`` Gaussians' partials are summed (the last launch passes N).
    With ``kept`` the rows' set-ups come from the forward pass."""
    for k in range(k_begin, k_end):
        v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b = _pair_gradient(
            k, tile_list[k], pair_tile[k], tile, k2, geom, span, colors, v_image, kept, row_offsets[k], rows, True
        )
        store_gradient(pair_grad, k, v_px, v_py, v_qa, v_qb, v_qc, v_r, v_g, v_b, 0.0)
    for g in range(reduce_count):
        reduce_and_chain(
            g, pair_grad, 1, gauss_offsets, gauss_pairs, chol, scale, v_means, v_chol, v_colors, v_opacities
        )


@ti.kernel
def colour_gradient_sum(
    k_begin: ti.i32,
    k_end: ti.i32,
    reduce_count: ti.i32,
    tile: ti.types.vector(2, ti.i32),
    k2: ti.f32,
    geom: Arr2f,
    span: Arr2i,
    colors: Arr2f,
    pair_tile: Arr1i,
    tile_list: Arr1i,
    v_image: Arr3f,
    pair_grad: Arr2f,
    gauss_offsets: Arr1i,
    gauss_pairs: Arr1i,
    v_colors: Arr2f,
    rows: Arr2f,
):
    """dL/dcolours alone (the adjoint of a sum render in its colours, what a colour refit needs): one item
    per (tile, Gaussian) pair in [k_begin, k_end), then the first ``reduce_count`` Gaussians' partials summed
    in ``backward_sum``'s order."""
    for k in range(k_begin, k_end):
        grad = _pair_gradient(
            k, tile_list[k], pair_tile[k], tile, k2, geom, span, colors, v_image, False, 0, rows, False
        )
        v_r, v_g, v_b = grad[5], grad[6], grad[7]
        pair_grad[k, 0] = v_r
        pair_grad[k, 1] = v_g
        pair_grad[k, 2] = v_b
    for g in range(reduce_count):
        acc = ti.Vector([0.0, 0.0, 0.0])
        for j in range(gauss_offsets[g], gauss_offsets[g + 1]):
            for c in ti.static(range(3)):
                acc[c] += pair_grad[gauss_pairs[j], c]
        for c in ti.static(range(3)):
            v_colors[g, c] = acc[c]
