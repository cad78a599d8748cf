"""Fitting a picture with Gaussians: ``fit(image, cfg)`` is a generator of progress, returning the result.

The same stream feeds the CLI progress bar, the GUI worker and the benchmarks. Closing the generator cancels
within one iteration; a consumer pauses simply by not pulling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from lgi_kernels import RenderMode, rasterize_backward, rasterize_forward

from .count import adaptive_count
from .densify import MEAN_MARGIN, prune_and_densify
from .init import initialize
from .metrics import psnr_8bit
from .model import Gaussians
from .optim import Adam, StepSizes, cosine_decay

PRESETS = {"fast": 500, "balanced": 2000, "high": 5000, "ultra": 10000}
"""Iteration budgets per preset (the original LGI encoder's)."""

INIT_METHODS = ("content", "random")
LOSSES = ("l2",)


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides a fit. ``count=None`` picks the count from the picture (``core.count``)."""

    count: int | None = 5000
    preset: str = "balanced"
    iterations: int | None = None
    mode: RenderMode = RenderMode.ACCUMULATED_SUM
    init: str = "content"
    loss: str = "l2"
    steps: StepSizes = field(default_factory=StepSizes)
    final_step_fraction: float = 0.1
    densify: bool = True
    init_fraction: float = 0.7
    densify_at: tuple[float, ...] = (0.1, 0.2, 0.3)
    preview_interval_s: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.preset not in PRESETS:
            problems.append(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.count is not None and not 1 <= self.count <= 2_000_000:
            problems.append(f"count must be between 1 and 2,000,000, got {self.count}")
        if self.iterations is not None and not 1 <= self.iterations <= 10_000_000:
            problems.append(f"iterations must be positive, got {self.iterations}")
        if self.init not in INIT_METHODS:
            problems.append(f"init must be one of {', '.join(INIT_METHODS)}, got {self.init!r}")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not 0.0 < self.init_fraction <= 1.0:
            problems.append(f"init_fraction must be in (0, 1], got {self.init_fraction}")
        if not all(0.0 < f < 1.0 for f in self.densify_at):
            problems.append("densify_at must be fractions of the fit strictly between 0 and 1")
        if not 0.0 < self.final_step_fraction <= 1.0:
            problems.append(f"final_step_fraction must be in (0, 1], got {self.final_step_fraction}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def total_iterations(self) -> int:
        return self.iterations or PRESETS[self.preset]


@dataclass(frozen=True)
class FitProgress:
    """One step of a fit, as reported to whoever drives it."""

    iteration: int  # iterations done, 1..total
    total: int
    phase: str  # "fit"
    loss: float
    psnr: float  # of the unclipped float render, dB
    elapsed: float  # seconds since the fit started
    count: int
    bpp: float  # estimated bits per pixel of the current storage scheme
    preview: np.ndarray | None = None  # [H, W, 3] uint8, throttled to cfg.preview_interval_s


@dataclass(frozen=True)
class FitResult:
    """The fitted Gaussians, what produced them and how the fit went."""

    gaussians: Gaussians
    config: FitConfig
    history: dict[str, np.ndarray]  # "iteration", "loss", "psnr", "elapsed", "count": one entry per iteration
    psnr: float  # final, 8-bit RGB
    elapsed: float


def float_bits_per_gaussian(mode: RenderMode) -> int:
    """Bits a Gaussian takes stored as float32: mean 2 + Cholesky 3 + colour 3 (+ opacity for alpha)."""
    return 32 * (8 if mode is RenderMode.ACCUMULATED_SUM else 9)


def max_sigma_px(width: int, height: int, count: int) -> float:
    """Largest sigma a Gaussian may take: four times the spacing of ``count`` evenly spread Gaussians
    (at least 8 px). Huge Gaussians blur everything and slow every step."""
    return max(8.0, 4.0 * math.sqrt(width * height / count))


def constrain(gaussians: Gaussians, mode: RenderMode, sigma_cap_px: float) -> None:
    """Keep parameters where they mean something: means near the frame, sizes capped, opacities in [0, 1]."""
    np.clip(gaussians.means, -MEAN_MARGIN, 1.0 + MEAN_MARGIN, out=gaussians.means)
    largest = gaussians.sigmas_px().max(axis=1)
    too_big = largest > sigma_cap_px
    if too_big.any():
        gaussians.chol[too_big] *= (sigma_cap_px / largest[too_big])[:, None]
    if mode is RenderMode.ALPHA:
        np.clip(gaussians.opacities, 0.0, 1.0, out=gaussians.opacities)


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        msg = f"image must be [H, W, 3], got {arr.shape}"
        raise ValueError(msg)
    return arr


def _densify_schedule(cfg: FitConfig, target: int, start: int) -> dict[int, int]:
    """Iteration -> Gaussian count to reach there, in equal steps from ``start`` to ``target``."""
    if not cfg.densify or not cfg.densify_at:
        return {}
    total = cfg.total_iterations
    points = sorted({max(1, round(f * total)) for f in cfg.densify_at})
    return {it: start + round((target - start) * (k + 1) / len(points)) for k, it in enumerate(points)}


def fit(image: np.ndarray, cfg: FitConfig) -> Generator[FitProgress, None, FitResult]:
    """Fit ``image`` (``[H, W, 3]`` float in [0, 1]) with Gaussians; yields a ``FitProgress`` per iteration."""
    image = _check_image(image)
    height, width = image.shape[:2]
    start_time = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    target = cfg.count if cfg.count is not None else adaptive_count(image)
    start_count = max(1, round(target * cfg.init_fraction)) if cfg.densify else target
    cap = max_sigma_px(width, height, target)
    gaussians = initialize(image, start_count, rng, cfg.init, cfg.mode, max_sigma_px=cap)
    adam = Adam(cfg.steps.per_parameter(width, height), len(gaussians))
    frozen = ("opacities",) if cfg.mode is RenderMode.ACCUMULATED_SUM else ()
    settings = gaussians.raster_settings(mode=cfg.mode)
    schedule = _densify_schedule(cfg, target, start_count)
    total = cfg.total_iterations
    history = {k: np.zeros(total) for k in ("iteration", "loss", "psnr", "elapsed", "count")}
    last_preview = -math.inf
    for it in range(total):
        render, ctx = rasterize_forward(*gaussians.arrays(), settings)
        diff = render - image
        mse = float(np.mean(diff * diff))
        grads = rasterize_backward(ctx, diff * np.float32(2.0 / diff.size))
        adam.step(gaussians, grads, cosine_decay(it / total, cfg.final_step_fraction), frozen)
        constrain(gaussians, cfg.mode, cap)
        if it + 1 in schedule:
            gaussians = prune_and_densify(gaussians, adam, image, render, schedule[it + 1], rng, cfg.mode, cap)
        elapsed = time.perf_counter() - start_time
        psnr = 10.0 * math.log10(1.0 / max(mse, 1e-12))
        preview = None
        if elapsed - last_preview >= cfg.preview_interval_s or it + 1 == total:
            last_preview = elapsed
            preview = (np.clip(render, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        for key, value in zip(history, (it + 1, mse, psnr, elapsed, len(gaussians)), strict=True):
            history[key][it] = value
        bpp = len(gaussians) * float_bits_per_gaussian(cfg.mode) / (width * height)
        yield FitProgress(it + 1, total, "fit", mse, psnr, elapsed, len(gaussians), bpp, preview)
    final = gaussians.render(mode=cfg.mode)
    elapsed = time.perf_counter() - start_time
    return FitResult(gaussians, cfg, history, psnr_8bit(final, image), elapsed)


def run_fit(image: np.ndarray, cfg: FitConfig) -> FitResult:
    """Drive ``fit`` to the end and return its result (for callers that need no progress)."""
    stream = fit(image, cfg)
    while True:
        try:
            next(stream)
        except StopIteration as done:
            return done.value
