"""Fitting a picture with Gaussians: ``fit(image, cfg)`` is a generator of progress, returning the result.

The same stream feeds the CLI progress bar, the GUI worker and the benchmarks. Closing the generator cancels
within one iteration; sending it ``STOP`` ends the fit early and returns the result so far (the GUI's Stop:
"stop when it looks good and save"); a consumer pauses simply by not pulling.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from lgi_kernels import (
    RasterContext,
    RasterSettings,
    RenderMode,
    rasterize_backward,
    rasterize_forward,
    rasterize_forward_l2,
)

from .count import adaptive_count
from .densify import MEAN_MARGIN
from .init import initialize
from .metrics import psnr_8bit, ssim_with_gradient
from .model import Gaussians
from .optim import Adam, StepSizes, cosine_decay
from .plateau import DEFAULT_PLATEAU, Anneal, PlateauRule, PlateauWatch
from .quantize import MAX_CODEBOOK, MIN_CODEBOOK
from .rate import SLOPE_DB_PER_LN_RATE, best, evaluate, worth_their_bits
from .rate_loss import RateTerm
from .refit import (
    Steps,
    quantize_colours_compensated_steps,
    refit_codebooks_steps,
    refit_colours_steps,
    run_steps,
)
from .registry import codebook_problem
from .schedule import COARSE_TO_FINE, Resolutions, Schedule, densify_at, upsampled
from .scheme_names import DEFAULT_SCHEME, PRESETS, SCHEMES
from .schemes import LgiScalarColourScheme, Quantized, Scheme, get_scheme, scheme_of, with_steps
from .step_rule import STEP_RULES, colour_step, encoder_scheme

STOP = "stop"
"""Sent into ``fit``'s generator: finish now with the Gaussians as they are."""

INIT_METHODS = ("content", "random")
LOSSES = ("l2", "l1+ssim")
SSIM_WEIGHT = 0.2
"""Weight of (1 - SSIM) in the l1+ssim loss (the rest is L1), as 3DGS uses."""
QA_TUNING_STEP_SCALE = 0.2
"""Step sizes of ``lgi-sq``'s quantization-aware tuning, as a fraction of the fit's initial ones: on Kodak
crops 0.3 of the steps of the time gained 0.02-0.03 dB more than the fit's final 0.1 (docs/quantization.md);
0.2 of today's 1.5x larger steps (``optim.StepSizes``) is the same step."""


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
    qa_training: bool = False
    qa_start: float = 0.7
    scheme: str = DEFAULT_SCHEME
    codebook_size: int | None = None
    quant_steps: str = "auto"
    rd_prune: bool = True  # drop the Gaussians not worth their bits where that makes a better file (core.rate)
    rate_slope: float = SLOPE_DB_PER_LN_RATE  # the loss is D + lambda R at this dB per ln(rate); 0: D alone
    rate_start: float = 0.3  # the fraction of the fit from which the rate term acts (core.rate_loss)
    schedule: Schedule = COARSE_TO_FINE  # coarse-to-fine resolutions (core.schedule)
    plateau: PlateauRule | None = DEFAULT_PLATEAU  # end the float fit when it stops improving; not with QA

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.qa_start <= 1.0:
            problems.append(f"qa_start must be a fraction of the fit in [0, 1], got {self.qa_start}")
        if self.scheme not in SCHEMES:
            problems.append(f"scheme must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if self.codebook_size is not None:
            if not MIN_CODEBOOK <= self.codebook_size <= MAX_CODEBOOK:
                problems.append(
                    f"codebook size must be between {MIN_CODEBOOK} and {MAX_CODEBOOK}, got {self.codebook_size}"
                )
            elif self.count is not None and self.codebook_size > self.count:
                problems.append(f"codebook size {self.codebook_size} is larger than the Gaussian count {self.count}")
        if (problem := codebook_problem(self.scheme, self.codebook_size)) is not None:
            problems.append(problem)
        if self.quant_steps not in STEP_RULES:
            problems.append(f"quant_steps must be one of {', '.join(STEP_RULES)}, got {self.quant_steps!r}")
        if self.rate_slope < 0.0 or not 0.0 <= self.rate_start <= 1.0:
            problems.append(
                f"rate_slope must be >= 0 and rate_start in [0, 1], got {self.rate_slope}, {self.rate_start}"
            )
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
    def fit_iterations(self) -> int:
        """Iterations of the float fit: the preset's budget, or ``iterations``."""
        return self.iterations or PRESETS[self.preset]

    @property
    def qa_tuning_iterations(self) -> int:
        """Iterations of quantization-aware tuning after the float fit (staged schemes, i.e. ``lgi-sq``):
        ``1 - qa_start`` of the fit again. The codebook schemes' QA replaces the end of the fit instead."""
        if not self.qa_training or not get_scheme(self.scheme).staged_qa:
            return 0
        return max(2, round((1.0 - self.qa_start) * self.fit_iterations))

    @property
    def total_iterations(self) -> int:
        """Every iteration the run makes: the fit and any quantization-aware tuning after it."""
        return self.fit_iterations + self.qa_tuning_iterations

    @property
    def qa_start_iteration(self) -> int | None:
        """The iteration (0-based) from which quantized Gaussians are rendered, or None without QA."""
        if not self.qa_training:
            return None
        if self.qa_tuning_iterations:
            return self.fit_iterations
        return min(self.total_iterations - 1, round(self.qa_start * self.total_iterations))


@dataclass(frozen=True)
class FitProgress:
    """One step of a fit, as reported to whoever drives it."""

    iteration: int  # iterations done, 1..total
    total: int
    phase: str  # "fit", then "qa" once quantization-aware training has started
    loss: float
    psnr: float  # of the unclipped float render, dB
    elapsed: float  # seconds since the fit started
    count: int
    bpp: float  # estimated bits per pixel of the current storage scheme
    preview: np.ndarray | None = None  # [H, W, 3] uint8, throttled to cfg.preview_interval_s
    qa_start: int | None = None  # iteration count at which QA switched on (reported once it has)


@dataclass(frozen=True)
class FitResult:
    """The fitted Gaussians, what produced them and how the fit went."""

    gaussians: Gaussians
    config: FitConfig
    history: dict[str, np.ndarray]  # "iteration", "loss" (cfg.loss), "psnr", "elapsed", "count": per iteration
    psnr: float  # final, 8-bit RGB, of the float Gaussians
    elapsed: float
    quantized: Quantized | None = None  # with QA: the symbols and codebooks the fit ended on
    qa_start: int | None = None
    fitted: Gaussians | None = None  # with staged QA: the float fit it started from

    def final_quantized(self, image: np.ndarray) -> Quantized:
        """What a ``.lgi`` of this fit stores: the QA symbols, or the configured scheme trained post-hoc; in
        sum mode with the colours then refit by least squares for the quantized geometry (``core.refit``).
        After staged QA, whichever of it and post-hoc quantization of the float fit is better at equal
        bytes (``core.rate``): QA is then never worse than not using it."""
        return run_steps(self.final_quantized_steps(image))

    def final_quantized_steps(self, image: np.ndarray) -> Steps[Quantized]:
        """``final_quantized`` in steps (``core.refit.Steps``), for the GUI's engine."""
        cfg = self.config
        settings = (cfg.mode, cfg.scheme, cfg.codebook_size, cfg.seed)
        chosen = yield from quantize_for_file_steps(
            self.gaussians, image, *settings, self.quantized, cfg.quant_steps, cfg.rd_prune
        )
        if self.fitted is None:
            return chosen
        posthoc = yield from quantize_for_file_steps(self.fitted, image, *settings, None, cfg.quant_steps, cfg.rd_prune)
        yield None
        return best([evaluate(posthoc, image), evaluate(chosen, image)]).quantized


def quantize_for_file(
    gaussians: Gaussians,
    image: np.ndarray,
    mode: RenderMode,
    scheme_name: str,
    codebook_size: int | None,
    seed: int = 0,
    quantized: Quantized | None = None,
    quant_steps: str = "auto",
    prune: bool = True,
) -> Quantized:
    """Quantize ``gaussians`` (or take ``quantized``, e.g. from QA) and refit the colours for the quantized
    positions and shapes: codebook entries where colours go through codebooks, else per-Gaussian colours
    that a scalar scheme then quantizes. With ``quant_steps="auto"``, ``lgi-sq``'s steps follow the operating
    point (``core.step_rule``). With ``prune``, ``lgi-sq`` in sum mode also tries the file without the
    Gaussians not worth their bits (``core.rate``) and keeps the better at equal bytes. ``quantized`` is
    not modified."""
    steps = quantize_for_file_steps(
        gaussians, image, mode, scheme_name, codebook_size, seed, quantized, quant_steps, prune
    )
    return run_steps(steps)


def quantize_for_file_steps(
    gaussians: Gaussians,
    image: np.ndarray,
    mode: RenderMode,
    scheme_name: str,
    codebook_size: int | None,
    seed: int = 0,
    quantized: Quantized | None = None,
    quant_steps: str = "auto",
    prune: bool = True,
) -> Steps[Quantized]:
    """``quantize_for_file`` in steps (``core.refit.Steps``): the GUI's engine answers commands between them
    and runs the codebook training (k-means, no launch) in a thread."""
    image = _check_image(image)
    args = (image, mode, scheme_name, codebook_size, seed, quantized, quant_steps)
    if not (prune and quantized is None and scheme_name == "lgi-sq" and mode is RenderMode.ACCUMULATED_SUM):
        return (yield from _quantize_and_refit_steps(gaussians, *args))
    keep = worth_their_bits(gaussians, image) if len(gaussians) > 1 else np.ones(len(gaussians), bool)
    yield None
    whole = yield from _quantize_and_refit_steps(gaussians, *args)
    if keep.all() or not keep.any():
        return whole
    pruned = yield from _quantize_and_refit_steps(gaussians.take(keep), *args)
    yield None
    return best([evaluate(whole, image), evaluate(pruned, image)]).quantized


def _quantize_and_refit_steps(
    gaussians: Gaussians,
    image: np.ndarray,
    mode: RenderMode,
    scheme_name: str,
    codebook_size: int | None,
    seed: int,
    quantized: Quantized | None,
    quant_steps: str,
) -> Steps[Quantized]:
    """``quantize_for_file_steps`` for one set of Gaussians."""
    if quantized is None:
        scheme = encoder_scheme(scheme_name, quant_steps, len(gaussians), gaussians.native_size)
        state = yield lambda: scheme.train(gaussians, mode, codebook_size, seed=seed)
        quantized = scheme.quantize(gaussians, mode, state)
    else:
        scheme = scheme_of(quantized)
    if mode is not RenderMode.ACCUMULATED_SUM or not len(gaussians):
        return quantized
    decoded = scheme.dequantize(quantized)
    if isinstance(scheme, LgiScalarColourScheme):
        colours = yield from refit_colours_steps(decoded, image)
        refit = Gaussians(gaussians.means, gaussians.chol, colours, gaussians.opacities, gaussians.native_size)
        if quant_steps == "auto":
            yield None
            residual = gaussians.render(mode=mode) - image
            step = colour_step(math.sqrt(float(np.mean(residual * residual))), len(gaussians), *gaussians.native_size)
            scheme = with_steps(scheme_name, quantized.state["steps"], step)
        state = yield lambda: scheme.train(refit, mode, codebook_size, seed=seed)
        geometry = Gaussians(decoded.means, decoded.chol, colours, decoded.opacities, decoded.native_size)
        return (yield from quantize_colours_compensated_steps(geometry, scheme, state, image))
    quantized = copy.deepcopy(quantized)
    uses = [use for use in scheme.codebooks(quantized) if use.columns == slice(5, 8)]
    if uses:
        yield from refit_codebooks_steps(decoded, uses, image)
        scheme.snap(quantized.state)
    return quantized


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
    total = cfg.fit_iterations
    points = sorted({max(1, round(f * total)) for f in cfg.densify_at})
    return {it: start + round((target - start) * (k + 1) / len(points)) for k, it in enumerate(points)}


class _QuantizationAware:
    """Quantization-aware training (QA).

    At the switch the scheme's quantizers are trained once (k-means++ codebooks, fitted ranges). From then
    on every iteration renders the quantized -> dequantized Gaussians, and
    - parameters decoded through a codebook (colours; everything for ``vq``) move the codebook *entries*
      by the summed gradient of their members, with Adam; the assignment to the nearest entry is redone
      every iteration;
    - scalar-quantized parameters (positions, shapes) take the gradient at their dequantized value with
      the straight-through estimator, so they cross to the next level when the picture asks for it.
    Re-running k-means later would throw away what the gradient taught the codebook; measured, it also
    made the fit oscillate (docs/quantization.md).
    """

    def __init__(self, cfg: FitConfig, gaussians: Gaussians) -> None:
        self.cfg = cfg
        self.scheme: Scheme = get_scheme(cfg.scheme)
        self.state = self.scheme.train(gaussians, cfg.mode, cfg.codebook_size, seed=cfg.seed)
        self.quantized = self.scheme.quantize(gaussians, cfg.mode, self.state)
        self.owned = np.zeros(9, bool)  # vector columns decoded through a codebook
        self.moments: list[tuple[np.ndarray, np.ndarray]] = []
        for use in self.scheme.codebooks(self.quantized):
            self.owned[use.columns] = True
            self.moments.append((np.zeros_like(use.book), np.zeros_like(use.book)))
        self.t = 0
        self.bits = 8 * len(self.scheme.pack(self.quantized))

    @property
    def frozen(self) -> tuple[str, ...]:
        """Float parameters the codebooks own: Adam leaves them alone during QA."""
        spans = {"means": slice(0, 2), "chol": slice(2, 5), "colors": slice(5, 8), "opacities": slice(8, 9)}
        return tuple(name for name, cols in spans.items() if self.owned[cols].all())

    def view(self, gaussians: Gaussians, iteration: int) -> Gaussians:
        """Quantize the current parameters with the current codebooks; return what the decoder would see."""
        self.quantized = self.scheme.quantize(gaussians, self.cfg.mode, self.state)
        return self.scheme.dequantize(self.quantized)

    def step_codebooks(self, grads, scale: float) -> None:
        """Adam on codebook entries: each entry's gradient is the sum over the Gaussians that use it."""
        self.t += 1
        v = np.concatenate([grads.v_means, grads.v_chol, grads.v_colors, grads.v_opacities[:, None]], axis=1).astype(
            np.float64
        )
        steps = np.concatenate(
            [
                self.cfg.steps.per_parameter(*self.quantized.native_size)[k].ravel() * np.ones(n)
                for k, n in (("means", 2), ("chol", 3), ("colors", 3), ("opacities", 1))
            ]
        )
        c1, c2 = 1.0 - 0.9**self.t, 1.0 - 0.999**self.t
        for use, (m, s) in zip(self.scheme.codebooks(self.quantized), self.moments, strict=True):
            g = np.stack(
                [
                    np.bincount(use.index, weights=v[:, c], minlength=len(use.book))
                    for c in range(use.columns.start, use.columns.stop)
                ],
                axis=1,
            )
            m *= 0.9
            m += 0.1 * g
            s *= 0.999
            s += 0.001 * g * g
            np.subtract(
                use.book,
                scale * steps[use.columns] / c1 * m / (np.sqrt(s / c2) + 1e-15),
                out=use.book,
                casting="unsafe",
            )

    def finish(self, gaussians: Gaussians) -> Quantized:
        """Round the codebooks to their stored precision and quantize the final parameters."""
        self.scheme.snap(self.state)
        self.quantized = self.scheme.quantize(gaussians, self.cfg.mode, self.state)
        return self.quantized


class _StagedQuantization:
    """Quantization-aware tuning for ``lgi-sq`` (schemes with ``staged_qa``): quantization by stages, after
    the float fit.

    At the switch every position is moved onto its grid point and held there; halfway to the end the shapes
    follow. Meanwhile the parameters not yet quantized keep training on the picture rendered with the
    quantized ones, so they absorb the rounding; the colours are quantized last, after the least-squares
    refit that every ``.lgi`` goes through (``quantize_for_file``). The stages run after the whole float fit,
    with fresh optimizer moments: started at 70% of a short fit they froze positions that still had far to
    go, and the file came out 0.04-0.08 dB below post-hoc quantization (docs/quantization.md). The float fit
    is kept (``fitted``) so that the file can fall back to post-hoc quantization where that is better.
    """

    def __init__(self, cfg: FitConfig, gaussians: Gaussians, fitted: Gaussians) -> None:
        self.cfg = cfg
        self.fitted = fitted
        self.scheme = encoder_scheme(cfg.scheme, cfg.quant_steps, len(gaussians), gaussians.native_size)
        start = cfg.qa_start_iteration or 0
        self.shapes_from = start + (cfg.total_iterations - start) // 2
        self.shapes = False
        self.bits = 8 * len(self.scheme.pack(self._quantize(gaussians)))

    def _quantize(self, gaussians: Gaussians) -> Quantized:
        return self.scheme.quantize(gaussians, self.cfg.mode, self.scheme.train(gaussians, self.cfg.mode, None))

    @property
    def frozen(self) -> tuple[str, ...]:
        return ("means", "chol") if self.shapes else ("means",)

    def view(self, gaussians: Gaussians, iteration: int) -> Gaussians:
        """Move the quantized stages onto their grids (in place: they no longer train) and return them."""
        self.shapes = iteration >= self.shapes_from
        snapped = self.scheme.snap_geometry(gaussians, shapes=self.shapes)
        gaussians.means, gaussians.chol = snapped.means, snapped.chol
        return gaussians

    def step_codebooks(self, grads, scale: float) -> None:
        """No codebooks to train: the colours are solved for at the end."""

    def finish(self, gaussians: Gaussians) -> Quantized:
        return self._quantize(gaussians)


def canonical_chol(gaussians: Gaussians) -> None:
    """Make l11, l22 >= 0 (L L^T is unchanged): quantizers see one representative of each shape, and
    straight-through gradients computed at a dequantized shape point the right way."""
    flip = gaussians.chol[:, 0] < 0
    gaussians.chol[flip, :2] *= -1.0
    np.abs(gaussians.chol[:, 2], out=gaussians.chol[:, 2])


def _loss_and_gradient(
    name: str, render: np.ndarray, image: np.ndarray, diff: np.ndarray, mse: float
) -> tuple[float, np.ndarray]:
    """The training loss and dLoss/drender: L2 (MSE), or (1 - w) L1 + w (1 - SSIM)."""
    if name == "l2":
        return mse, diff * np.float32(2.0 / diff.size)
    l1 = float(np.abs(diff).mean())
    similarity, v_ssim = ssim_with_gradient(render, image)
    loss = (1.0 - SSIM_WEIGHT) * l1 + SSIM_WEIGHT * (1.0 - similarity)
    v_image = (1.0 - SSIM_WEIGHT) * np.sign(diff) / diff.size - SSIM_WEIGHT * v_ssim
    return loss, v_image.astype(np.float32)


def _render_and_loss(
    name: str, shown: Gaussians, settings: RasterSettings, image: np.ndarray
) -> tuple[np.ndarray, RasterContext, float, float, np.ndarray]:
    """Render, MSE, training loss and dLoss/drender. L2 is scored inside the forward launch (the same
    dL/drender bits as NumPy, three passes over the picture fewer)."""
    if name == "l2":
        render, ctx, v_image, mse = rasterize_forward_l2(*shown.arrays(), settings, image)
        return render, ctx, mse, mse, v_image
    render, ctx = rasterize_forward(*shown.arrays(), settings)
    diff = render - image
    mse = float(np.mean(diff * diff))
    loss, v_image = _loss_and_gradient(name, render, image, diff, mse)
    return render, ctx, mse, loss, v_image


def _start_qa(
    cfg: FitConfig, gaussians: Gaussians, adam: Adam, image: np.ndarray
) -> tuple[_QuantizationAware | _StagedQuantization, Adam, Gaussians]:
    """The QA phase, the optimizer it runs with and the Gaussians it tunes: staged tuning restarts Adam on
    the finished fit, without the Gaussians not worth their bits (``cfg.rd_prune``, sum mode)."""
    if not get_scheme(cfg.scheme).staged_qa:
        return _QuantizationAware(cfg, gaussians), adam, gaussians
    fitted = gaussians.copy()
    if cfg.rd_prune and cfg.mode is RenderMode.ACCUMULATED_SUM and len(gaussians) > 1:
        keep = worth_their_bits(gaussians, image)
        gaussians = gaussians.take(keep) if keep.any() else gaussians
    qa = _StagedQuantization(cfg, gaussians, fitted)
    return qa, Adam(cfg.steps.per_parameter(*gaussians.native_size), len(gaussians)), gaussians


def _rate_term(cfg: FitConfig) -> RateTerm | None:
    """The rate term, where it has a coder to model (``lgi-sq`` in sum mode): from ``rate_start`` of the
    float fit to the end of any QA tuning (kept on through the tuning: +0.059 dB at equal bytes on Kodak
    crops where stopping it with the float fit gave +0.028, docs/rate-distortion.md)."""
    if cfg.rate_slope <= 0.0 or cfg.scheme != "lgi-sq" or cfg.mode is not RenderMode.ACCUMULATED_SUM:
        return None
    return RateTerm(cfg.rate_slope, round(cfg.rate_start * cfg.fit_iterations), cfg.total_iterations, cfg.quant_steps)


def _step_scale(cfg: FitConfig, iteration: int) -> float:
    """Step-size multiplier: a cosine over the float fit, then a constant for quantization-aware tuning."""
    if iteration >= cfg.fit_iterations:
        return QA_TUNING_STEP_SCALE
    return cosine_decay(iteration / cfg.fit_iterations, cfg.final_step_fraction)


def fit(image: np.ndarray, cfg: FitConfig) -> Generator[FitProgress, None, FitResult]:
    """Fit ``image`` (``[H, W, 3]`` float in [0, 1]) with Gaussians; yields a ``FitProgress`` per iteration."""
    image = _check_image(image)
    height, width = image.shape[:2]
    start_time = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    target = cfg.count if cfg.count is not None else adaptive_count(image)
    if cfg.codebook_size is not None and cfg.codebook_size > target:
        msg = f"codebook size {cfg.codebook_size} is larger than the Gaussian count {target}"
        raise ValueError(msg)
    start_count = max(1, round(target * cfg.init_fraction)) if cfg.densify else target
    cap = max_sigma_px(width, height, target)
    gaussians = initialize(image, start_count, rng, cfg.init, cfg.mode, max_sigma_px=cap)
    adam = Adam(cfg.steps.per_parameter(width, height), len(gaussians))
    frozen = ("opacities",) if cfg.mode is RenderMode.ACCUMULATED_SUM else ()
    resolutions = Resolutions(image, cfg.schedule, cfg.mode, cfg.fit_iterations, target)
    schedule = _densify_schedule(cfg, target, start_count)
    total = cfg.total_iterations
    qa_start = cfg.qa_start_iteration
    qa = None
    watch = PlateauWatch(cfg.plateau) if cfg.plateau is not None and qa_start is None else None
    history = {k: np.zeros(total) for k in ("iteration", "loss", "psnr", "elapsed", "count")}
    last_preview = -math.inf
    rate = _rate_term(cfg)
    anneal: Anneal | None = None  # set once the fit has plateaued (core.plateau)
    for it in range(total):
        in_qa = qa_start is not None and it >= qa_start
        if in_qa and qa is None:
            qa, adam, gaussians = _start_qa(cfg, gaussians, adam, image)
        shown = qa.view(gaussians, it) if in_qa else gaussians
        level, changed = resolutions.at(it, in_qa)
        if changed:
            adam.restart()
        drawn, rho = level.shown(shown)
        render, ctx, mse, loss, v_image = _render_and_loss(cfg.loss, drawn, level.settings, level.image)
        grads = level.gradients(rasterize_backward(ctx, v_image), shown, rho)
        if rate is not None:
            grads = rate.add_to(grads, gaussians, mse, it)
        scale = _step_scale(cfg, it) if anneal is None else anneal.step_scale(it)
        adam.step(gaussians, grads, scale, frozen + (qa.frozen if in_qa else ()))
        if in_qa:
            qa.step_codebooks(grads, scale)
        constrain(gaussians, cfg.mode, cap)
        canonical_chol(gaussians)
        if it + 1 in schedule:
            gaussians = densify_at(level, gaussians, adam, render, schedule[it + 1], rng, cfg.mode, cap)
        elapsed = time.perf_counter() - start_time
        psnr = 10.0 * math.log10(1.0 / max(mse, 1e-12))
        if anneal is None and watch is not None and watch.update(mse, level.factor == 1, it + 1 in schedule):
            anneal = watch.rule.anneal(it + 1, cfg.fit_iterations, _step_scale(cfg, it + 1), cfg.final_step_fraction)
        done = anneal is not None and it + 1 >= anneal.end
        preview = None
        if elapsed - last_preview >= cfg.preview_interval_s or it + 1 == total or done:
            last_preview = elapsed
            preview = (np.clip(upsampled(render, level), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        for key, value in zip(history, (it + 1, loss, psnr, elapsed, len(gaussians)), strict=True):
            history[key][it] = value
        bits = qa.bits if in_qa else len(gaussians) * float_bits_per_gaussian(cfg.mode)
        command = yield FitProgress(
            it + 1,
            total,
            "qa" if in_qa else "fit",
            mse,
            psnr,
            elapsed,
            len(gaussians),
            bits / (width * height),
            preview,
            qa_start if in_qa else None,
        )
        if command == STOP or done:
            history = {key: values[: it + 1] for key, values in history.items()}
            break
    final = gaussians.render(mode=cfg.mode)
    quantized = None
    if qa is not None:
        quantized = qa.finish(gaussians)
    elapsed = time.perf_counter() - start_time
    fitted = getattr(qa, "fitted", None)
    reached = qa_start if qa is not None else None
    return FitResult(gaussians, cfg, history, psnr_8bit(final, image), elapsed, quantized, reached, fitted)


def run_fit(image: np.ndarray, cfg: FitConfig) -> FitResult:
    """Drive ``fit`` to the end and return its result (for callers that need no progress)."""
    stream = fit(image, cfg)
    while True:
        try:
            next(stream)
        except StopIteration as done:
            return done.value
