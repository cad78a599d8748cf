"""The fit's rate term (core.rate_loss): its estimate against the coder's bits, its gradient, its effect."""

import math

import numpy as np
import pytest

from lgi_kernels import RenderMode
from lgi_studio.core.fit import FitConfig, run_fit
from lgi_studio.core.rate_loss import CostTable, RateModel, signed_table, stream_table
from lgi_studio.core.schemes import with_steps
from lgi_studio.core.step_rule import colour_step, encoder_scheme
from tests.core.test_fit import synthetic

SUM = RenderMode.ACCUMULATED_SUM


@pytest.fixture(scope="module")
def fitted():
    """A fitted set and its picture: 400 Gaussians on 128 x 96."""
    image = synthetic(128, 96)
    return run_fit(image, FitConfig(count=400, iterations=80)).gaussians, image


def coded_bits(g, image, rule: str = "auto") -> dict[str, int]:
    """Bits of each part of the file the encoder's scheme writes for ``g`` under the step ``rule`` (no
    refit: the fit's colours)."""
    mse = float(np.mean((g.render() - image) ** 2))
    width, height = g.native_size
    scheme = encoder_scheme("lgi-sq", rule, len(g), g.native_size)
    if rule == "auto":
        scheme = with_steps("lgi-sq", scheme.steps, colour_step(math.sqrt(mse), len(g), width, height))
    quantized = scheme.quantize(g, SUM, scheme.train(g, SUM, None))
    return {name: 8 * len(part) for name, part in scheme.pack_parts(quantized).items()}


def test_cost_table_is_exact_at_integers_and_linear_between():
    table = CostTable(-1, np.array([3.0, 1.0, 2.0, 6.0]))
    value, slope = table.at(np.array([-1.0, 0.0, 0.25, 1.5, 2.0, 5.0, -4.0]))
    np.testing.assert_allclose(value, [3.0, 1.0, 1.25, 4.0, 6.0, 6.0, 3.0])
    np.testing.assert_allclose(slope[1:4], [1.0, 1.0, 4.0])
    np.testing.assert_allclose(slope[4:], 0.0)  # flat from the ends on


def test_signed_table_undoes_the_zigzag():
    zigzag = CostTable(0, np.arange(10, dtype=np.float64))  # cost = zigzag symbol
    signed = signed_table(zigzag)
    values, _ = signed.at(np.array([0.0, -1.0, 1.0, -2.0, 2.0]))
    np.testing.assert_allclose(values, [0, 1, 2, 3, 4])


def test_stream_costs_are_the_coders_model_bits():
    rng = np.random.default_rng(0)
    symbols = np.clip(np.round(rng.standard_t(5, 3000) * 4 + 20), 0, None).astype(np.int64)
    table = stream_table(symbols)
    estimate = table.at(symbols.astype(np.float64))[0].sum()
    entropy = -np.sum(np.log2(np.bincount(symbols)[symbols] / len(symbols)))
    assert entropy <= estimate <= 1.02 * entropy  # the Student-t is close to the empirical entropy


@pytest.mark.parametrize("rule", ["auto", "fixed"])
def test_estimate_matches_the_coders_bits_on_a_fitted_set(fitted, rule):
    g, image = fitted
    mse = float(np.mean((g.render() - image) ** 2))
    estimate, _, _ = RateModel.measure(g, mse, 3.0, rule).rate(g.chol, g.colors)
    coded = coded_bits(g, image, rule)
    assert estimate.keys() == coded.keys()
    for part in ("sizes", "angles", "colours"):
        assert estimate[part] == pytest.approx(coded[part], rel=0.04), part
    assert sum(estimate.values()) == pytest.approx(sum(coded.values()), rel=0.01)


def test_rate_gradient_matches_finite_differences(fitted):
    g, image = fitted
    mse = float(np.mean((g.render() - image) ** 2))
    model = RateModel.measure(g, mse, 3.0)
    chol, colors = g.chol.astype(np.float64), g.colors.astype(np.float64)
    _, v_chol, v_colors = model.rate(chol, colors)

    def total(c, k):
        return sum(model.rate(c, k)[0].values())

    rng = np.random.default_rng(1)
    for params, grad, other in ((chol, v_chol, "chol"), (colors, v_colors, "colors")):
        for i, j in zip(rng.integers(0, len(g), 12), rng.integers(0, 3, 12), strict=True):
            h = 1e-7 * max(abs(params[i, j]), 1e-3)
            up, down = params.copy(), params.copy()
            up[i, j] += h
            down[i, j] -= h
            args = ((up, colors), (down, colors)) if other == "chol" else ((chol, up), (chol, down))
            numeric = (total(*args[0]) - total(*args[1])) / (2 * h)
            assert grad[i, j] == pytest.approx(numeric, rel=1e-3, abs=1e-3 * np.abs(grad).max()), (other, i, j)


def test_price_is_the_operating_points_slope(fitted):
    g, image = fitted
    mse = float(np.mean((g.render() - image) ** 2))
    model = RateModel.measure(g, mse, 3.0)
    # a file 1% larger must buy 0.03 dB: 1% of the bits at the price equals the matching drop of the error
    one_percent = 0.01 * model.file_bits * model.price
    assert one_percent == pytest.approx(mse * (1 - 10 ** (-0.003)), rel=0.01)


def test_the_default_rate_term_makes_a_smaller_file():
    image = synthetic(96, 64)
    plain = run_fit(image, FitConfig(count=300, iterations=100, rate_slope=0.0))
    rated = run_fit(image, FitConfig(count=300, iterations=100))  # the default has the rate term
    modelled = [sum(coded_bits(r.gaussians, image)[k] for k in ("sizes", "angles", "colours")) for r in (plain, rated)]
    assert modelled[1] < 0.99 * modelled[0]
    assert rated.psnr > plain.psnr - 0.2  # bits saved where the picture barely needs them


def test_the_rate_term_also_prices_the_qa_tuning():
    """With QA the tuned Gaussians code fewer shape and colour bits each with the term than without it
    (pruning may keep a few more or fewer of them)."""
    image = synthetic(96, 64)
    settings = {"count": 300, "iterations": 200, "qa_training": True}
    plain, rated = (run_fit(image, FitConfig(**settings, rate_slope=slope)) for slope in (0.0, 3.0))
    per_gaussian = [
        sum(coded_bits(r.gaussians, image)[k] for k in ("sizes", "angles", "colours")) / len(r.gaussians)
        for r in (plain, rated)
    ]
    assert per_gaussian[1] < per_gaussian[0]
    assert rated.psnr > plain.psnr - 0.2


def test_rate_term_settings_are_checked():
    with pytest.raises(ValueError, match="rate_slope"):
        FitConfig(rate_slope=-1.0)
    with pytest.raises(ValueError, match="rate_start"):
        FitConfig(rate_start=1.5)
