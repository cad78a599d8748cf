"""A rate term for the fit: minimize D + lambda R, with R the bits the entropy coder would spend.

R is estimated per Gaussian with the coder's own models (``core.entropy``): each stream of ``lgi-sq``
(sizes, elongations, the three colour axes) is given the Student-t the coder would fit to its current
symbols, and a Gaussian pays, for each stream, that model's cost of its symbol. Between integer symbols the
cost is interpolated linearly, so R is exact at the values the coder sees and has a slope between them
(the coder's model evaluated on the unrounded values, as Cool-chic and C3 do with theirs). Angles cost
log2 of their level count, which grows with the elongation (``LgiScheme._angle_levels``); positions (and
the colour model) cost what the coder spent on them at the last measure, a constant, since the gaps between
positions hardly depend on where each Gaussian sits. The models are refit every ``REFRESH_ITERATIONS``
iterations (and whenever the count changes), not differentiated through: each refit is the coder's answer
to the symbols the fit now makes.

lambda comes from the operating point, as the pruning's price does (``core.rate``): along a curve of
``slope`` dB per ln(rate), one bit of a file of B bits is worth ``slope * ln(10) / 10 * D / B`` of the
mean squared error D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lgi_kernels import Gradients, RenderMode

from .entropy import PARAMETRIC_MAX_ALPHABET, fit_parametric, parametric_counts
from .model import COV_FLOOR_PX2, Gaussians
from .schemes import LgiScalarColourScheme, LgiSteps, Quantized, with_steps
from .shape import SIGMA_MAX_PX, SIGMA_MIN_PX, covariance_px
from .step_rule import colour_step, encoder_scheme

REFRESH_ITERATIONS = 25
"""Iterations between two measures of the coder's models (one quantization and pack each)."""
TABLE_MARGIN = 64
"""Symbol values past a stream's largest that still get a cost (the model's tail): a fit may move there."""
STREAM_OVERHEAD_BITS = 8 * (1 + 2 + 2 + 9 + 1) + 16
"""Side data of one parametric stream (tag, count, alphabet, model, word count) and the coder's last word."""


@dataclass(frozen=True)
class CostTable:
    """Bits per integer symbol value ``start .. start + len(costs) - 1`` under one stream's model."""

    start: int
    costs: np.ndarray  # [K] float64

    def at(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cost at the unrounded symbols ``x`` (linear between integers, flat past the ends) and its slope."""
        top = self.start + len(self.costs) - 1
        clipped = np.clip(x, self.start, top)
        i = np.minimum(np.floor(clipped).astype(np.int64) - self.start, len(self.costs) - 2)
        low, high = self.costs[i], self.costs[i + 1]
        value = low + (clipped - self.start - i) * (high - low)
        slope = np.where((x > self.start) & (x < top), high - low, 0.0)
        return value, slope


def stream_table(symbols: np.ndarray) -> CostTable:
    """Costs of a categorical stream's values under the model the coder would fit to ``symbols``: its
    Student-t, extended by ``TABLE_MARGIN`` values (a smoothed histogram where no Student-t is accepted)."""
    counts = np.bincount(np.asarray(symbols, np.int64).ravel(), minlength=2)
    params = fit_parametric(counts) if len(counts) <= PARAMETRIC_MAX_ALPHABET else None
    if params is not None:
        model = parametric_counts(len(counts) + TABLE_MARGIN, *params).astype(np.float64)
        total = float(model[: len(counts)].sum())
    else:
        model = np.concatenate([counts, np.zeros(TABLE_MARGIN)]) + 0.5
        total = float(model.sum())
    return CostTable(0, np.log2(total) - np.log2(model))


def signed_table(zigzag: CostTable) -> CostTable:
    """The costs of a zigzag-coded stream (0, -1, 1, -2, ... as 0, 1, 2, 3, ...) by signed value."""
    half = len(zigzag.costs) // 2
    t = np.arange(-half + 1, half)
    return CostTable(-half + 1, zigzag.costs[np.where(t >= 0, 2 * t, -2 * t - 1)])


def _eigen(chol: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Pixel covariances' eigenvalues (major, minor; no floor) and their derivatives by (xx, xy, yy)."""
    a, b, d = covariance_px(chol, width, height).T
    half = 0.5 * (a - d)
    radius = np.maximum(np.sqrt(half * half + b * b), 1e-12 * (a + d) + 1e-30)
    mid = 0.5 * (a + d)
    v_major = np.stack([0.5 + 0.5 * half / radius, b / radius, 0.5 - 0.5 * half / radius], axis=1)
    v_minor = np.stack([0.5 - 0.5 * half / radius, -b / radius, 0.5 + 0.5 * half / radius], axis=1)
    return mid + radius, mid - radius, v_major, v_minor


def _to_chol(v_cov: np.ndarray, chol: np.ndarray, width: int, height: int) -> np.ndarray:
    """Chain rule from (xx, xy, yy) to the normalized Cholesky factors ``[N, 3]``."""
    l11, l21, l22 = np.asarray(chol, np.float64).T
    va, vb, vd = v_cov.T
    return np.stack(
        [
            va * 2 * width**2 * l11 + vb * width * height * l21,
            vb * width * height * l11 + vd * 2 * height**2 * l21,
            vd * 2 * height**2 * l22,
        ],
        axis=1,
    )


@dataclass(frozen=True)
class RateModel:
    """The coder's models for one set of Gaussians, and the price of a bit at its operating point."""

    native_size: tuple[int, int]
    steps: LgiSteps
    colour: dict  # lgi-sq's colour state: mean, basis, step
    sizes: CostTable
    ratios: CostTable
    colours: tuple[CostTable, CostTable, CostTable]
    fixed_bits: dict[str, float]  # the parts the fit cannot change: colour model, positions
    file_bits: float
    price: float  # lambda: mean squared error per bit

    @classmethod
    def measure(cls, gaussians: Gaussians, mse: float, slope: float, rule: str = "auto") -> RateModel:
        """Quantize ``gaussians`` as the encoder would under the step ``rule`` (``auto``: the operating
        point's steps, the colour step from the render's error ``mse``), and take every stream's model and
        the file's size from the coder."""
        count, (width, height) = len(gaussians), gaussians.native_size
        scheme = encoder_scheme("lgi-sq", rule, count, gaussians.native_size)
        assert isinstance(scheme, LgiScalarColourScheme)
        if rule == "auto":
            scheme = with_steps("lgi-sq", scheme.steps, colour_step(math.sqrt(mse), count, width, height))
        quantized = scheme.quantize(
            gaussians, RenderMode.ACCUMULATED_SUM, scheme.train(gaussians, RenderMode.ACCUMULATED_SUM, None)
        )
        parts = scheme.pack_parts(quantized)
        file_bits = 8.0 * sum(len(p) for p in parts.values())
        return cls(
            gaussians.native_size,
            scheme.steps,
            {k: quantized.state[k] for k in ("mean", "basis", "step")},
            stream_table(quantized.symbols["size"]),
            stream_table(quantized.symbols["ratio"]),
            _colour_tables(quantized),
            {k: 8.0 * len(parts[k]) for k in ("colour model", "positions")},
            file_bits,
            slope * math.log(10.0) / 10.0 * mse / file_bits,
        )

    def rate(self, chol: np.ndarray, colors: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        """Estimated bits of each part of the file (the parts of ``LgiScheme.pack_parts``) for Gaussians with
        these ``chol`` and ``colors`` ([N, 3] each), and the total's gradient by both (float64)."""
        width, height = self.native_size
        major2, minor2, v_major, v_minor = _eigen(chol, width, height)
        lo, hi = SIGMA_MIN_PX**2, SIGMA_MAX_PX**2
        in_major, in_minor = (major2 > lo) & (major2 < hi), (minor2 > lo) & (minor2 < hi)
        major2, minor2 = np.clip(major2, lo, hi), np.clip(minor2, lo, hi)
        shape_bits, v_l1, v_l2 = self._shape_rate(major2, minor2)
        colour_bits, v_colors, c_l1, c_l2 = self._colour_rate(colors, major2, minor2)
        v_l1, v_l2 = (v_l1 + c_l1) * in_major, (v_l2 + c_l2) * in_minor
        v_chol = _to_chol(v_l1[:, None] * v_major + v_l2[:, None] * v_minor, chol, width, height)
        bits = {
            **self.fixed_bits,
            "sizes": shape_bits["sizes"] + 2 * STREAM_OVERHEAD_BITS,
            "angles": shape_bits["angles"],
            "colours": colour_bits + len(self.colours) * STREAM_OVERHEAD_BITS,
        }
        return bits, v_chol, v_colors

    def _shape_rate(self, major2: np.ndarray, minor2: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        """Bits of the size, elongation and angle symbols, and their gradient by the two eigenvalues."""
        step = self.steps.log2_size
        per_l = 0.5 / (math.log(2.0) * step)
        size, v_size = self.sizes.at((0.5 * np.log2(major2) - math.log2(SIGMA_MIN_PX)) / step)
        ratio, v_ratio = self.ratios.at(0.5 * np.log2(major2 / minor2) / step)
        aspect = np.sqrt((major2 + COV_FLOOR_PX2) / (minor2 + COV_FLOOR_PX2))
        levels = self.steps.angle_per_aspect * (aspect - 1.0)
        free = (levels > 1.0) & (levels < self.steps.max_angle_levels)
        angle = np.log2(np.clip(levels, 1.0, self.steps.max_angle_levels))
        v_levels = np.where(free, 1.0 / (math.log(2.0) * np.maximum(levels, 1.0)), 0.0) * self.steps.angle_per_aspect
        v_l1 = (v_size + v_ratio) * per_l / major2 + v_levels * aspect * 0.5 / (major2 + COV_FLOOR_PX2)
        v_l2 = -v_ratio * per_l / minor2 - v_levels * aspect * 0.5 / (minor2 + COV_FLOOR_PX2)
        return {"sizes": float(size.sum() + ratio.sum()), "angles": float(angle.sum())}, v_l1, v_l2

    def _colour_rate(self, colors: np.ndarray, major2: np.ndarray, minor2: np.ndarray) -> tuple[float, ...]:
        """Bits of the three colour symbols, and their gradient by the colours and the two eigenvalues."""
        state = self.colour
        energy_root = math.sqrt(math.pi) * ((major2 + COV_FLOOR_PX2) * (minor2 + COV_FLOOR_PX2)) ** 0.25
        scale = energy_root / float(state["step"])
        t = ((colors.astype(np.float64) - state["mean"]) @ state["basis"]) * scale[:, None]  # [N, 3]
        bits, slopes = zip(*(table.at(t[:, k]) for k, table in enumerate(self.colours)), strict=True)
        slope = np.stack(slopes, axis=1)
        v_colors = (slope * scale[:, None]) @ state["basis"].T
        v_energy = (slope * t).sum(axis=1) * 0.25  # t grows with the energy root, the eigenvalues' 4th roots
        return float(np.sum(bits)), v_colors, v_energy / (major2 + COV_FLOOR_PX2), v_energy / (minor2 + COV_FLOOR_PX2)


def _colour_tables(quantized: Quantized) -> tuple[CostTable, CostTable, CostTable]:
    symbols = quantized.symbols["color"]
    first, second, third = (signed_table(stream_table(symbols[:, k])) for k in range(3))
    return first, second, third


class RateTerm:
    """The fit's rate term: from ``start`` to ``stop`` (iterations), ``price * dR/dtheta`` joins the
    distortion's gradient, R for the steps of ``rule`` (one of ``core.step_rule.STEP_RULES``); the models
    are measured again every ``REFRESH_ITERATIONS`` iterations and when the count changes."""

    def __init__(self, slope: float, start: int, stop: int, rule: str = "auto") -> None:
        self.slope, self.start, self.stop, self.rule = slope, start, stop, rule
        self.model: RateModel | None = None
        self.measured_at = -REFRESH_ITERATIONS
        self.count = 0

    def add_to(self, grads: Gradients, gaussians: Gaussians, mse: float, iteration: int) -> Gradients:
        """``grads`` of the distortion plus the rate's, priced at the operating point (outside the term's
        iterations: ``grads`` itself)."""
        if not self.start <= iteration < self.stop or not len(gaussians):
            return grads
        model = self._model(gaussians, mse, iteration)
        _, v_chol, v_colors = model.rate(gaussians.chol, gaussians.colors)
        price = model.price
        return Gradients(
            grads.v_means,
            (grads.v_chol + price * v_chol).astype(np.float32),
            (grads.v_colors + price * v_colors).astype(np.float32),
            grads.v_opacities,
        )

    def _model(self, gaussians: Gaussians, mse: float, iteration: int) -> RateModel:
        """The current models, measured again when stale or when the count has changed."""
        stale = iteration - self.measured_at >= REFRESH_ITERATIONS or self.count != len(gaussians)
        if self.model is None or stale:
            self.model = RateModel.measure(gaussians, mse, self.slope, self.rule)
            self.measured_at, self.count = iteration, len(gaussians)
        return self.model
