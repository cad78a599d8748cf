"""Which Gaussians are worth their bits (core.rate) and what pruning does to the file."""

import numpy as np
import pytest

from lgi_kernels import RenderMode
from lgi_studio.core.fit import FitConfig, quantize_for_file, run_fit
from lgi_studio.core.model import Gaussians
from lgi_studio.core.rate import evaluate, footprint_energy, psnr_at_rate, removal_costs, worth_their_bits
from tests.core.test_fit import synthetic

SUM = RenderMode.ACCUMULATED_SUM


def with_useless(g: Gaussians, count: int, seed: int = 0) -> Gaussians:
    """``g`` plus ``count`` small Gaussians of faint colour: they cost bits and draw almost nothing."""
    rng = np.random.default_rng(seed)
    extra = g.take(rng.integers(0, len(g), count)).copy()
    extra.means = rng.uniform(0.1, 0.9, extra.means.shape).astype(np.float32)
    extra.colors = rng.normal(0.0, 0.004, extra.colors.shape).astype(np.float32)
    return g.extended(extra)


def squared_error(g: Gaussians, image: np.ndarray) -> float:
    return float(np.sum((g.render().astype(np.float64) - image) ** 2))


def test_removal_costs_match_rendering_without_each_gaussian():
    image = synthetic()
    g = run_fit(image, FitConfig(count=60, iterations=40)).gaussians
    costs = removal_costs(g, image)
    base = squared_error(g, image)
    largest = np.argsort(-np.abs(costs))[:8]
    for i in largest:
        without = squared_error(g.take(np.arange(len(g)) != i), image) - base
        assert abs(costs[i] - without) <= 0.1 * abs(without) + 1e-3


def test_faint_gaussians_are_not_worth_their_bits_and_the_picture_is_kept():
    image = synthetic()
    g = run_fit(image, FitConfig(count=120, iterations=60)).gaussians
    padded = with_useless(g, 30)
    keep = worth_their_bits(padded, image)
    assert not keep[len(g) :].any()  # every faint one goes
    assert keep[: len(g)].mean() > 0.8  # most of the fit stays


def test_pruning_makes_a_smaller_file_that_is_better_at_equal_bytes():
    image = synthetic()
    padded = with_useless(run_fit(image, FitConfig(count=120, iterations=60)).gaussians, 30)
    whole = evaluate(quantize_for_file(padded, image, SUM, "lgi-sq", None, prune=False), image)
    pruned = evaluate(quantize_for_file(padded, image, SUM, "lgi-sq", None), image)
    assert pruned.quantized.n <= len(padded) - 30
    assert pruned.bytes < whole.bytes
    assert psnr_at_rate(pruned.psnr, pruned.bytes, whole.bytes) > whole.psnr


def test_pruning_never_makes_the_file_worse():
    """A fit with nothing to prune: the file is the one without pruning, or better at equal bytes."""
    image = synthetic(seed=5)
    g = run_fit(image, FitConfig(count=80, iterations=80)).gaussians
    whole = evaluate(quantize_for_file(g, image, SUM, "lgi-sq", None, prune=False), image)
    chosen = evaluate(quantize_for_file(g, image, SUM, "lgi-sq", None), image)
    assert psnr_at_rate(chosen.psnr, chosen.bytes, whole.bytes) >= whole.psnr


def test_footprint_energy_is_the_sum_of_the_squared_profile_border_included():
    """Exact inside the frame and along one border; at a corner a tilted Gaussian's share inside is only
    approximated (from its marginals), so there a factor of two is allowed."""
    image = synthetic()
    g = run_fit(image, FitConfig(count=40, iterations=30)).gaussians
    energy = footprint_energy(g)
    close = []
    for i in range(len(g)):
        one = g.take(np.array([i])).copy()
        one.colors[:] = [1.0, 0.0, 0.0]
        profile = one.render()[..., 0].astype(np.float64)
        actual = np.sum(profile * profile)
        close.append(energy[i] == pytest.approx(actual, rel=0.05, abs=0.05))
        assert 0.5 * actual <= energy[i] <= 2.0 * actual
    assert np.mean(close) >= 0.95
