"""Tiled Taichi rasterizer: forward and backward, accumulated sum and alpha compositing.

A render is one binning launch (``binning.py``), then forward launches over runs of tiles; the backward
pass is launches over runs of (tile, Gaussian) pairs, the last of which also sums every Gaussian's partials
in a fixed order: no float atomics, so a seeded fit is bit-reproducible. Long renders are split into
several launches of bounded work, because a Taichi CPU launch holds the Python GIL for its whole duration;
a fit's render at Kodak size is three launches (bin, forward with loss, backward).
"""

import itertools
from dataclasses import dataclass

import numpy as np
import taichi as ti

from . import alpha_mode, sum_mode
from .backend import ensure_backend
from .binning import Binning, bin_gaussians
from .gradients import Gradients
from .launches import launch
from .settings import RasterSettings, RenderMode
from .tiles import V_COLS

WORK_PER_LAUNCH = 4_000_000
"""Pixel evaluations per launch: about 5-10 ms of sum-mode work on one 2-core machine, keeping GIL holds
short; a fit's render at Kodak size and N=5000 is one launch."""
ALPHA_WEIGHT = 5
"""How much an alpha-compositing pixel evaluation counts against WORK_PER_LAUNCH."""

_NO_LOSS = np.zeros((1, 1, 3), dtype=np.float32)
_NO_SSE = np.zeros(1, dtype=np.float64)
_NO_OFFSETS = np.zeros(1, dtype=np.int32)
_NO_ROWS = np.zeros((1, 4), dtype=np.float32)


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
    rows: tuple[np.ndarray, np.ndarray] | None = None  # sum mode with a loss: row set-ups the forward kept


def launch_chunks(binning: Binning, settings: RasterSettings, budget: int | None = None) -> list[tuple[int, int]]:
    """Split the tiles into consecutive runs of about ``budget`` pixel evaluations each (default WORK_PER_LAUNCH).

    Alpha compositing costs about three times the sum per pixel evaluation and counts fivefold: 0.8 M
    evaluations a launch, as before the budget grew for the faster sum kernels, so its launches stay short.
    """
    budget = budget or WORK_PER_LAUNCH
    weight = ALPHA_WEIGHT if settings.mode is RenderMode.ALPHA else 1
    tw, th = settings.tile
    cumulative = np.cumsum(weight * binning.tile_work + tw * th)  # an empty tile still costs its loop
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


def _checked(means, chol, colors, opacities) -> tuple[np.ndarray, ...]:
    means = _f32(means, (2,), "means")
    chol = _f32(chol, (3,), "chol")
    colors = _f32(colors, (3,), "colors")
    opacities = _f32(np.reshape(opacities, (-1, 1)), (1,), "opacities").reshape(-1)
    if not len(means) == len(chol) == len(colors) == len(opacities):
        msg = "means, chol, colors and opacities must describe the same number of Gaussians"
        raise ValueError(msg)
    return means, chol, colors, opacities


def _render(params: tuple[np.ndarray, ...], s: RasterSettings, target: np.ndarray | None):
    """Bin and draw; with ``target`` (sum mode) also dL/dimage of the MSE and the squared error per row."""
    means, chol, colors, opacities = params
    binning = bin_gaussians(means, chol, s)
    image = np.empty((s.height, s.width, 3), dtype=np.float32)
    k2 = s.cutoff_sigma**2
    tile = ti.Vector(s.tile, dt=ti.i32)
    if s.mode is RenderMode.ALPHA:
        final_t = np.empty((s.height, s.width), dtype=np.float32)
        n_contrib = np.empty((s.height, s.width), dtype=np.int32)
        for begin, end in launch_chunks(binning, s):
            launch(alpha_mode.forward_alpha, begin, end, tile, k2, binning.geom, binning.span, colors, opacities,
                   binning.tile_offsets, binning.tile_list, image, final_t, n_contrib)  # fmt: skip
        return image, RasterContext(s, *params, binning, final_t, n_contrib), None, None
    v_image, row_sse, rows = _NO_LOSS, _NO_SSE, (_NO_OFFSETS, _NO_ROWS)
    if target is not None:
        v_image = np.empty_like(image)
        row_sse = np.empty(s.tiles[0] * s.tiles[1], dtype=np.float64)
        rows = _row_buffers(binning, s)
    _draw_sum(binning, s, colors, image, target, v_image, row_sse, rows)
    kept = rows if target is not None else None
    return image, RasterContext(s, *params, binning, None, None, kept), v_image, row_sse


def _draw_sum(
    b: Binning,
    s: RasterSettings,
    colors: np.ndarray,
    image: np.ndarray,
    target: np.ndarray | None = None,
    v_image: np.ndarray = _NO_LOSS,
    row_sse: np.ndarray = _NO_SSE,
    rows: tuple[np.ndarray, np.ndarray] = (_NO_OFFSETS, _NO_ROWS),
) -> None:
    """The sum-mode forward launches over binned Gaussians, into ``image``; with ``target`` also the loss."""
    tile = ti.Vector(s.tile, dt=ti.i32)
    v_scale = np.float32(2.0 / image.size)
    for begin, end in launch_chunks(b, s):
        launch(sum_mode.forward_sum, begin, end, tile, s.cutoff_sigma**2, b.geom, b.span, colors, b.tile_offsets,
               b.tile_list, s.width, s.height, image.reshape(-1), target is not None,
               (_NO_LOSS if target is None else target).reshape(-1), v_scale, v_image.reshape(-1), row_sse,
               *rows)  # fmt: skip


def _row_buffers(b: Binning, s: RasterSettings) -> tuple[np.ndarray, np.ndarray]:
    """Where each pair's row set-ups go: pair k's rows (its rows inside its tile) from ``offsets[k]``."""
    th = s.tile[1]
    tile_y0 = (b.pair_tile // s.tiles[0]) * th
    top = np.maximum(b.span[b.tile_list, 2], tile_y0)
    bottom = np.minimum(b.span[b.tile_list, 3], np.minimum(tile_y0 + th, s.height) - 1)
    offsets = np.zeros(len(b.tile_list) + 1, dtype=np.int64)
    np.cumsum(np.maximum(bottom - top + 1, 0), out=offsets[1:])
    return offsets[:-1].astype(np.int32), np.empty((max(1, int(offsets[-1])), 4), dtype=np.float32)


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
    image, ctx, _, _ = _render(_checked(means, chol, colors, opacities), settings, None)
    return image, ctx


def rasterize_forward_l2(
    means: np.ndarray,
    chol: np.ndarray,
    colors: np.ndarray,
    opacities: np.ndarray,
    settings: RasterSettings,
    target: np.ndarray,
) -> tuple[np.ndarray, RasterContext, np.ndarray, float]:
    """Render and score against ``target`` ([H, W, 3]) in the same pass, as a fit's every step needs.

    Returns the image, the context, dL/dimage of the mean squared error (2 (image - target) / size, in
    float32 exactly as NumPy computes it) and the mean squared error. In sum mode the loss is computed
    inside the forward launch, saving three passes over the image; alpha mode computes it in NumPy.
    """
    ensure_backend()
    s = settings
    target = np.ascontiguousarray(target, dtype=np.float32)
    if target.shape != (s.height, s.width, 3):
        msg = f"target must have shape {(s.height, s.width, 3)}, got {target.shape}"
        raise ValueError(msg)
    image, ctx, v_image, row_sse = _render(_checked(means, chol, colors, opacities), s, target)
    if row_sse is None:
        diff = image - target
        return image, ctx, diff * np.float32(2.0 / diff.size), float(np.mean(diff * diff, dtype=np.float64))
    return image, ctx, v_image, float(row_sse.sum() / image.size)


def rasterize_forward_colours(ctx: RasterContext, colors: np.ndarray) -> np.ndarray:
    """Render ``ctx``'s Gaussians (sum mode) with other ``colors`` ([N, 3]): the positions and shapes are
    already binned, so this is the forward launches alone, the same pixels a full render would give. A
    colour refit renders one geometry a hundred times (``core.refit``)."""
    ensure_backend()
    s = _sum_only(ctx, "rasterize_forward_colours")
    colors = _f32(colors, (3,), "colors")
    if len(colors) != len(ctx.means):
        msg = f"colors must have shape [{len(ctx.means)}, 3], got {colors.shape}"
        raise ValueError(msg)
    image = np.empty((s.height, s.width, 3), dtype=np.float32)
    _draw_sum(ctx.binning, s, colors, image)
    return image


def rasterize_backward_colours(ctx: RasterContext, v_image: np.ndarray) -> np.ndarray:
    """dLoss/dcolours ``[N, 3]`` alone (sum mode), given ``v_image`` = dLoss/dimage: ``rasterize_backward``'s
    ``v_colors``, the same bits, for about half its work (no shape moments, no chain rule)."""
    ensure_backend()
    s = _sum_only(ctx, "rasterize_backward_colours")
    v_image = np.ascontiguousarray(v_image, dtype=np.float32)
    if v_image.shape != (s.height, s.width, 3):
        msg = f"v_image must have shape {(s.height, s.width, 3)}, got {v_image.shape}"
        raise ValueError(msg)
    n, b = len(ctx.means), ctx.binning
    v_colors = np.zeros((n, 3), np.float32)
    if n == 0 or len(b.tile_list) == 0:
        return v_colors
    pair_grad = np.empty((len(b.tile_list), 3), dtype=np.float32)
    tile = ti.Vector(s.tile, dt=ti.i32)
    chunks = launch_chunks(b, s)
    for index, (begin, end) in enumerate(chunks):
        reduce_count = n if index == len(chunks) - 1 else 0
        launch(sum_mode.colour_gradient_sum, b.tile_offsets[begin], b.tile_offsets[end], reduce_count, tile,
               s.cutoff_sigma**2, b.geom, b.span, ctx.colors, b.pair_tile, b.tile_list, v_image, pair_grad,
               b.gauss_offsets, b.gauss_pairs, v_colors, _NO_ROWS)  # fmt: skip
    return v_colors


def _sum_only(ctx: RasterContext, name: str) -> RasterSettings:
    if ctx.settings.mode is not RenderMode.ACCUMULATED_SUM:
        msg = f"{name} needs the accumulated-sum mode, in which a render is linear in the colours"
        raise ValueError(msg)
    return ctx.settings


def rasterize_backward(ctx: RasterContext, v_image: np.ndarray) -> Gradients:
    """Gradients of a loss with respect to every parameter, given ``v_image`` = dLoss/dimage ``[H, W, 3]``."""
    ensure_backend()
    s = ctx.settings
    v_image = np.ascontiguousarray(v_image, dtype=np.float32)
    if v_image.shape != (s.height, s.width, 3):
        msg = f"v_image must have shape {(s.height, s.width, 3)}, got {v_image.shape}"
        raise ValueError(msg)
    n = len(ctx.means)
    b = ctx.binning
    if n == 0 or len(b.tile_list) == 0:
        zeros = np.zeros((n, 3), np.float32)
        return Gradients(np.zeros((n, 2), np.float32), zeros, zeros.copy(), np.zeros(n, np.float32))
    grads = Gradients(*(np.empty(shape, np.float32) for shape in ((n, 2), (n, 3), (n, 3), (n,))))
    sx, sy = s.scale
    scale = ti.Vector([sx, sy, s.cov_floor], dt=ti.f32)
    outputs = (ctx.chol, scale, grads.v_means, grads.v_chol, grads.v_colors, grads.v_opacities)
    k2 = s.cutoff_sigma**2
    tile = ti.Vector(s.tile, dt=ti.i32)
    chunks = launch_chunks(b, s)
    if s.mode is RenderMode.ALPHA:
        # partial gradients: one per (tile row, Gaussian) pair
        pair_grad = np.zeros((len(b.tile_list) * s.tile[1], V_COLS), dtype=np.float32)
        for begin, end in chunks:
            launch(alpha_mode.backward_alpha, begin, end, tile, k2, b.geom, b.span, ctx.colors, ctx.opacities,
                   b.tile_offsets, b.tile_list, ctx.n_contrib, ctx.final_t, v_image, pair_grad)  # fmt: skip
        launch(alpha_mode.reduce_alpha, pair_grad, s.tile[1], b.gauss_offsets, b.gauss_pairs, *outputs)
        return grads
    pair_grad = np.empty((len(b.tile_list), V_COLS), dtype=np.float32)  # one partial per (tile, Gaussian) pair
    for index, (begin, end) in enumerate(chunks):
        reduce_count = n if index == len(chunks) - 1 else 0
        launch(sum_mode.backward_sum, b.tile_offsets[begin], b.tile_offsets[end], reduce_count, tile, k2, b.geom,
               b.span, ctx.colors, b.pair_tile, b.tile_list, v_image, pair_grad, b.gauss_offsets, b.gauss_pairs,
               *outputs, ctx.rows is not None, *(ctx.rows or (_NO_OFFSETS, _NO_ROWS)))  # fmt: skip
    return grads
