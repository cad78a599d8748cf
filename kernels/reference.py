"""Dense float64 NumPy reference of the rasterizer, forward and backward.

Same signatures as ``lgi_kernels.rasterize``: every pixel meets every Gaussian, with the same cut-off,
alpha and transmittance rules, so the tiled kernels must agree with it to float32 precision. Slow on
purpose: its only job is to be obviously right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gradients import Gradients
from .settings import ALPHA_MAX, ALPHA_MIN, T_MIN, RasterSettings, RenderMode


@dataclass(frozen=True)
class ReferenceContext:
    """What the backward pass needs from the forward one."""

    settings: RasterSettings
    means: np.ndarray  # [N, 2]
    chol: np.ndarray  # [N, 3]
    colors: np.ndarray  # [N, 3]
    opacities: np.ndarray  # [N]


def covariance_and_conic(chol: np.ndarray, sx: float, sy: float, floor: float) -> tuple[np.ndarray, ...]:
    """Pixel-space covariance (a, b, c), its determinant and conic (A, B, C) = inverse, per Gaussian.

    The determinant is expanded so that it never cancels: det = (sx sy l11 l22)^2 + floor (a' + c') + floor^2.
    """
    l11, l21, l22 = chol[:, 0], chol[:, 1], chol[:, 2]
    a0 = (sx * l11) ** 2
    c0 = sy * sy * (l21 * l21 + l22 * l22)
    a = a0 + floor
    b = sx * sy * l11 * l21
    c = c0 + floor
    det = (sx * sy * l11 * l22) ** 2 + floor * (a0 + c0) + floor * floor
    return a, b, c, det, c / det, -b / det, a / det


def _pairwise(means: np.ndarray, chol: np.ndarray, s: RasterSettings) -> dict[str, np.ndarray]:
    """Offsets, quadratic form and Gaussian value for every (pixel, Gaussian) pair, flattened [P, N]."""
    sx, sy = s.scale
    vp = s.viewport
    a, b, c, det, qa, qb, qc = covariance_and_conic(chol, sx, sy, s.cov_floor)
    px = (means[:, 0] - vp.x0) * sx
    py = (means[:, 1] - vp.y0) * sy
    ys, xs = np.mgrid[0 : s.height, 0 : s.width]
    dx = (xs.reshape(-1, 1) + 0.5) - px[None, :]  # [P, N]
    dy = (ys.reshape(-1, 1) + 0.5) - py[None, :]
    q = qa * dx * dx + 2.0 * qb * dx * dy + qc * dy * dy
    inside = q <= s.cutoff_sigma**2
    g = np.where(inside, np.exp(-0.5 * np.where(inside, q, 0.0)), 0.0)
    return {"a": a, "b": b, "c": c, "det": det, "A": qa, "B": qb, "C": qc, "dx": dx, "dy": dy, "g": g}


def _composite_alphas(g: np.ndarray, opacities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Effective alpha of each pair (0 where skipped or after the early stop) and the transmittance before it."""
    raw = opacities[None, :] * g
    alpha = np.minimum(ALPHA_MAX, raw)
    alpha = np.where(alpha >= ALPHA_MIN, alpha, 0.0)
    n_pix, n = g.shape
    eff = np.zeros_like(g)
    t_before = np.zeros_like(g)
    t = np.ones(n_pix)
    done = np.zeros(n_pix, dtype=bool)
    for i in range(n):
        a_i = np.where(done, 0.0, alpha[:, i])
        stop = (a_i > 0.0) & (t * (1.0 - a_i) < T_MIN)
        done |= stop
        a_i = np.where(stop, 0.0, a_i)
        eff[:, i] = a_i
        t_before[:, i] = t
        t = t * (1.0 - a_i)
    return eff, t_before


def _as64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.float64) for x in arrays]


def rasterize_forward(
    means: np.ndarray,
    chol: np.ndarray,
    colors: np.ndarray,
    opacities: np.ndarray,
    settings: RasterSettings,
) -> tuple[np.ndarray, ReferenceContext]:
    """Render ``[H, W, 3]`` float64; see ``lgi_kernels.rasterize.rasterize_forward``."""
    means, chol, colors, opacities = _as64(means, chol, colors, opacities)
    ctx = ReferenceContext(settings, means, chol, colors, opacities)
    s = settings
    if len(means) == 0:
        return np.zeros((s.height, s.width, 3)), ctx
    weights = _pairwise(means, chol, s)["g"]
    if s.mode is RenderMode.ALPHA:
        alpha, t_before = _composite_alphas(weights, opacities)
        weights = alpha * t_before
    return (weights @ colors).reshape(s.height, s.width, 3), ctx


def rasterize_backward(ctx: ReferenceContext, v_image: np.ndarray) -> Gradients:
    """Gradients of a loss with respect to every parameter, given ``v_image`` = dLoss/dimage ``[H, W, 3]``."""
    s = ctx.settings
    n = len(ctx.means)
    if n == 0:
        return Gradients(np.zeros((0, 2)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    v_img = np.asarray(v_image, dtype=np.float64).reshape(-1, 3)  # [P, 3]
    p = _pairwise(ctx.means, ctx.chol, s)
    g = p["g"]
    v_opacities = np.zeros(n)
    if s.mode is RenderMode.ACCUMULATED_SUM:
        v_colors = g.T @ v_img
        v_g = v_img @ ctx.colors.T
    else:
        alpha, t_before = _composite_alphas(g, ctx.opacities)
        cv = v_img @ ctx.colors.T  # [P, N]: colour . dL/dpixel
        v_colors = (alpha * t_before).T @ v_img
        w = alpha * t_before * cv
        behind = w.sum(axis=1, keepdims=True) - np.cumsum(w, axis=1)
        v_alpha = np.where(alpha > 0.0, t_before * cv - behind / (1.0 - alpha), 0.0)
        unclamped = (alpha > 0.0) & (ctx.opacities[None, :] * g < ALPHA_MAX)
        v_alpha = np.where(unclamped, v_alpha, 0.0)
        v_opacities = (v_alpha * g).sum(axis=0)
        v_g = v_alpha * ctx.opacities[None, :]
    v_q = -0.5 * g * v_g
    v_means, v_chol = _chain_to_parameters(p, v_q, ctx.chol, s)
    return Gradients(v_means, v_chol, v_colors, v_opacities)


def _chain_to_parameters(
    p: dict[str, np.ndarray], v_q: np.ndarray, chol: np.ndarray, s: RasterSettings
) -> tuple[np.ndarray, np.ndarray]:
    """From dL/dq per pair to dL/dmeans and dL/dcholesky through the conic and the covariance."""
    dx, dy, qa, qb, qc = p["dx"], p["dy"], p["A"], p["B"], p["C"]
    v_qa = (v_q * dx * dx).sum(axis=0)
    v_qb = (v_q * 2.0 * dx * dy).sum(axis=0)
    v_qc = (v_q * dy * dy).sum(axis=0)
    v_px = (v_q * -2.0 * (qa * dx + qb * dy)).sum(axis=0)
    v_py = (v_q * -2.0 * (qb * dx + qc * dy)).sum(axis=0)
    a, b, c, det = p["a"], p["b"], p["c"], p["det"]
    d2 = det * det
    v_a = (-c * c * v_qa + b * c * v_qb - b * b * v_qc) / d2
    v_b = (2.0 * b * c * v_qa - (a * c + b * b) * v_qb + 2.0 * a * b * v_qc) / d2
    v_c = (-b * b * v_qa + a * b * v_qb - a * a * v_qc) / d2
    sx, sy = s.scale
    l11, l21, l22 = chol[:, 0], chol[:, 1], chol[:, 2]
    v_chol = np.stack(
        [
            2.0 * sx * sx * l11 * v_a + sx * sy * l21 * v_b,
            sx * sy * l11 * v_b + 2.0 * sy * sy * l21 * v_c,
            2.0 * sy * sy * l22 * v_c,
        ],
        axis=1,
    )
    return np.stack([v_px * sx, v_py * sy], axis=1), v_chol
