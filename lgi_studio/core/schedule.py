"""Coarse to fine: the first iterations of a fit render the picture at a fraction of its resolution.

The Gaussians live in normalized coordinates, so the same parameters render at any output size: a level
of factor ``s`` renders at ``W // s`` x ``H // s`` against the picture's ``s x s`` block means (a 1/4-size
render costs about a tenth of a full one, docs/encoder.md). For the coarse render to be the block mean of
the full one, each Gaussian is drawn as its full-resolution self would look after the block average:

- the covariance floor grows by the variance the block mean adds, ``(s^2 - 1) / 12`` native px^2 per
  axis (the variance of ``s`` equally weighted samples one pixel apart), on top of the native floor;
- in sum mode a blurred Gaussian keeps its mass, not its peak: the colour is scaled by
  ``rho = sqrt(det(S + f I) / det(S + (f + b) I))`` (native px, ``f`` the floor, ``b`` the block's
  variance), and ``rho``'s dependence on the shape enters the Cholesky gradient.

Alpha compositing is not linear in the colours, so its fits always run at full resolution. A level is
skipped where it would be small (``Schedule.min_side``) or have too few pixels per Gaussian
(``Schedule.min_pixels_per_gaussian``): there the coarse picture cannot hold what the Gaussians must learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgi_kernels import Gradients, RasterSettings, RenderMode, Viewport

from .densify import alive, prune_and_densify
from .model import COV_FLOOR_PX2, Gaussians
from .optim import Adam
from .shape import covariance_px


@dataclass(frozen=True)
class Schedule:
    """Which resolution each iteration of the float fit uses.

    ``levels`` lists ``(share of the fit's iterations, downscale factor)`` from the first iterations on;
    whatever the shares leave runs at full resolution. Quantization-aware iterations are always at full
    resolution. A level is only used where its picture has at least ``min_side`` pixels on its short side
    and ``min_pixels_per_gaussian`` pixels per Gaussian of the fit's count (measured on Kodak at 33, i.e.
    N=3000 at half size; small pictures fit quickly anyway).
    """

    levels: tuple[tuple[float, int], ...] = ()
    min_side: int = 128
    min_pixels_per_gaussian: float = 32.0

    def __post_init__(self) -> None:
        shares = [share for share, _ in self.levels]
        if any(share <= 0.0 for share in shares) or sum(shares) >= 1.0:
            msg = f"coarse shares must be positive and leave part of the fit at full resolution, got {shares}"
            raise ValueError(msg)
        if any(not isinstance(factor, int) or factor < 2 for _, factor in self.levels):
            msg = f"downscale factors must be integers of at least 2, got {[f for _, f in self.levels]}"
            raise ValueError(msg)

    def factor_at(self, iteration: int, fit_iterations: int) -> int:
        """Downscale factor of 0-based ``iteration`` of a fit of ``fit_iterations`` (1 = full resolution)."""
        end = 0.0
        for share, factor in self.levels:
            end += share
            if iteration < round(end * fit_iterations):
                return factor
        return 1


COARSE_TO_FINE = Schedule(((0.4, 2),))
"""The encoder's default: the first 40% of the float fit at half size (each such iteration about a third of
a full one's kernel time). At 2000 iterations with 1.5x step sizes, against the plain fit: kodim23 N=3000
-0.01 dB at 2.2% fewer bytes, kodim07 N=700 +0.24 dB at 2.4% more; 60% at half, or 30% at 1/4 then 20% at
1/2, lost 0.13 and 0.46 dB in 1000-iteration fits (docs/encoder.md)."""


@dataclass(frozen=True)
class Level:
    """One resolution a fit renders at: the settings, the picture at that size, and what the block adds."""

    factor: int
    settings: RasterSettings
    image: np.ndarray  # [h, w, 3] float32
    native_size: tuple[int, int]
    block_px2: float  # variance the s x s block mean adds, native px^2 per axis (0 at full resolution)

    @property
    def coverage(self) -> tuple[float, float]:
        """Fraction of the frame's width and height the level's pixels cover (its crop of whole blocks)."""
        return self.settings.viewport.x1, self.settings.viewport.y1

    def mass_scale(self, gaussians: Gaussians) -> np.ndarray:
        """``rho`` per Gaussian ``[N]`` float64: the peak of the block-averaged Gaussian over its own."""
        a, b, d = self._covariances(gaussians)
        f, g = COV_FLOOR_PX2, COV_FLOOR_PX2 + self.block_px2
        return np.sqrt(((a + f) * (d + f) - b * b) / ((a + g) * (d + g) - b * b))

    def _covariances(self, gaussians: Gaussians) -> np.ndarray:
        return covariance_px(gaussians.chol, *self.native_size).T

    def shown(self, gaussians: Gaussians) -> tuple[Gaussians, np.ndarray | None]:
        """The Gaussians as this level draws them (colours scaled by ``rho`` when coarse), and ``rho``."""
        if self.factor == 1:
            return gaussians, None
        rho = self.mass_scale(gaussians)
        colours = (gaussians.colors * rho[:, None]).astype(np.float32)
        return Gaussians(gaussians.means, gaussians.chol, colours, gaussians.opacities, self.native_size), rho

    def gradients(self, grads: Gradients, gaussians: Gaussians, rho: np.ndarray | None) -> Gradients:
        """The gradients with respect to ``gaussians``' own parameters (chain rule through ``rho``)."""
        if rho is None:
            return grads
        v_rho = np.einsum("nk,nk->n", grads.v_colors.astype(np.float64), gaussians.colors.astype(np.float64))
        v_chol = grads.v_chol + (v_rho * rho)[:, None] * self._log_rho_chol_gradient(gaussians)
        v_colors = grads.v_colors * rho[:, None]
        return Gradients(grads.v_means, v_chol.astype(np.float32), v_colors.astype(np.float32), grads.v_opacities)

    def _log_rho_chol_gradient(self, gaussians: Gaussians) -> np.ndarray:
        """d log(rho) / d(l11, l21, l22) ``[N, 3]``: with M = (inv(S + f) - inv(S + g)) / 2 and
        S = D L L^T D (D = diag(W, H)), d tr(M S) / dL = 2 D M D L, read at the factor's three entries."""
        a, b, d = self._covariances(gaussians)
        width, height = self.native_size
        m = []
        for floor in (COV_FLOOR_PX2, COV_FLOOR_PX2 + self.block_px2):
            det = (a + floor) * (d + floor) - b * b
            m.append(((d + floor) / det, -b / det, (a + floor) / det))  # inverse: xx, xy, yy
        mxx, mxy, myy = (0.5 * (fine - coarse) for fine, coarse in zip(m[0], m[1], strict=True))
        mxx, mxy, myy = mxx * width * width, mxy * width * height, myy * height * height  # D M D
        l11, l21, l22 = (gaussians.chol[:, k].astype(np.float64) for k in range(3))
        return 2.0 * np.stack([mxx * l11 + mxy * l21, mxy * l11 + myy * l21, myy * l22], axis=1)


def build_levels(image: np.ndarray, schedule: Schedule, mode: RenderMode, count: int = 1) -> dict[int, Level]:
    """Factor -> level for the full resolution and every coarse factor the picture is large enough for,
    at ``count`` Gaussians."""
    height, width = image.shape[:2]
    full_settings = RasterSettings(width, height, mode=mode, cov_floor=COV_FLOOR_PX2)
    levels = {1: Level(1, full_settings, image, (width, height), 0.0)}
    if mode is not RenderMode.ACCUMULATED_SUM:
        return levels
    for _, factor in schedule.levels:
        w, h = width // factor, height // factor
        small = min(w, h) < schedule.min_side or w * h < schedule.min_pixels_per_gaussian * count
        if small or factor in levels:
            continue
        blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor, 3)
        block_px2 = (factor * factor - 1) / 12.0
        settings = RasterSettings(
            w,
            h,
            viewport=Viewport(0.0, 0.0, w * factor / width, h * factor / height),
            mode=mode,
            cov_floor=(COV_FLOOR_PX2 + block_px2) / factor**2,
        )
        levels[factor] = Level(factor, settings, blocks.mean(axis=(1, 3), dtype=np.float32), (width, height), block_px2)
    return levels


class Resolutions:
    """The levels of one fit and which one each iteration uses.

    ``at`` also says when the level changed since the previous iteration: the fit then restarts Adam's
    moments. Carried over, moments gathered on a coarse picture set the step sizes of the first full-size
    iterations badly (``beta2 = 0.999`` needs about a thousand iterations to forget them): on kodim23 at
    N=3000, 1000 iterations with the first 40% at half size, the file came out 0.35 dB below the plain
    fit's with the moments kept and 0.12 dB above it with them restarted (docs/encoder.md).
    """

    def __init__(
        self, image: np.ndarray, schedule: Schedule, mode: RenderMode, fit_iterations: int, count: int = 1
    ) -> None:
        self.levels = build_levels(image, schedule, mode, count)
        self.schedule = schedule
        self.fit_iterations = fit_iterations
        self.current: Level | None = None

    def at(self, iteration: int, in_qa: bool = False) -> tuple[Level, bool]:
        """The level of 0-based ``iteration`` (full size from the end of the float fit and during QA; a
        factor the picture is too small for falls back to full size), and whether it differs from the
        previous call's."""
        factor = (
            1 if in_qa or iteration >= self.fit_iterations else self.schedule.factor_at(iteration, self.fit_iterations)
        )
        level = self.levels.get(factor, self.levels[1])
        changed = self.current is not None and level is not self.current
        self.current = level
        return level, changed


def upsampled(render: np.ndarray, level: Level) -> np.ndarray:
    """A coarse render at the picture's size (each pixel repeated, the uncovered edge extended): what a
    preview shows while the fit is coarse."""
    if level.factor == 1:
        return render
    width, height = level.native_size
    big = np.repeat(np.repeat(render, level.factor, axis=0), level.factor, axis=1)
    return np.pad(big, ((0, height - big.shape[0]), (0, width - big.shape[1]), (0, 0)), mode="edge")


def densify_at(
    level: Level,
    gaussians: Gaussians,
    adam: Adam,
    render: np.ndarray,
    target_count: int,
    rng: np.random.Generator,
    mode: RenderMode,
    max_sigma_px: float,
) -> Gaussians:
    """``prune_and_densify`` on the error at the resolution in use. On a coarse level the new Gaussians are
    drawn on its pixel grid, then moved into the frame's coordinates (the level covers ``coverage`` of it)
    and their colours divided by ``rho``, as the level draws them."""
    cap = max_sigma_px / level.factor
    if level.factor == 1:
        return prune_and_densify(gaussians, adam, level.image, render, target_count, rng, mode, cap)
    kept = int(np.count_nonzero(alive(gaussians, mode)))
    grown = prune_and_densify(gaussians, adam, level.image, render, target_count, rng, mode, cap)
    if len(grown) == kept:
        return grown
    cx, cy = level.coverage
    new = grown.take(np.arange(kept, len(grown)))
    new.means *= np.array([cx, cy], np.float32)
    new.chol *= np.array([cx, cy, cy], np.float32)  # L' = diag(cx, cy) L
    new.colors = (new.colors / level.mass_scale(new)[:, None]).astype(np.float32)
    return grown.take(np.arange(kept)).extended(new)
