"""The plateau rule (core.plateau) on synthetic error curves: it stops a flat fit, not an improving one."""

import itertools
from dataclasses import replace

import numpy as np
import pytest

from lgi_studio.core.fit import FitConfig, fit, run_fit
from lgi_studio.core.plateau import Anneal, PlateauRule, PlateauWatch
from tests.core.test_fit import synthetic


def _first_stop(mses, rule: PlateauRule, **flags) -> int | None:
    watch = PlateauWatch(rule)
    for it, mse in enumerate(mses):
        if watch.update(float(mse), **flags):
            return it + 1
    return None


def _psnr_curve(db: np.ndarray, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """Squared errors of a fit whose PSNR follows ``db``, with per-iteration jitter of ``noise`` dB."""
    jitter = np.random.default_rng(seed).normal(0.0, noise, len(db))
    return 10.0 ** (-(db + jitter) / 10.0)


def test_a_steadily_improving_fit_runs_its_whole_budget():
    """0.03 dB per 100 iterations (a fit's last stretch under the cosine decay) never looks flat."""
    db = 30.0 + 0.0003 * np.arange(2000)
    assert _first_stop(_psnr_curve(db), PlateauRule(100, 0.01)) is None


def test_a_flat_fit_stops_at_the_end_of_the_first_flat_window():
    """Rising until iteration 600, then flat: the window 700..800 is the first that gains nothing over
    the window before it (600..700 still gained over 500..600)."""
    db = np.minimum(25.0 + 0.01 * np.arange(2000), 31.0)
    assert _first_stop(_psnr_curve(db), PlateauRule(100, 0.01)) == 800


def test_a_larger_tolerance_stops_sooner():
    db = 30.0 + 3.0 * (1.0 - np.exp(-np.arange(3000) / 500.0))
    early = _first_stop(_psnr_curve(db), PlateauRule(100, 0.05))
    late = _first_stop(_psnr_curve(db), PlateauRule(100, 0.01))
    assert early is not None
    assert late is not None
    assert early < late
    # the gain per 100 iterations is 0.6 exp(-t/500): below 0.05 dB from t = 1240, below 0.01 from 2050
    assert 1200 <= early <= 1400
    assert 2000 <= late <= 2200


def test_coarse_windows_and_densification_are_not_compared():
    """A flat curve stops after two comparable windows; coarse iterations or a count change in a window
    make it incomparable, so the comparison starts again after it."""
    flat = np.full(1000, 1e-3)
    assert _first_stop(flat, PlateauRule(100, 0.01)) == 200
    assert _first_stop(flat, PlateauRule(100, 0.01), full_resolution=False) is None
    watch = PlateauWatch(PlateauRule(100, 0.01))
    stops = [watch.update(1e-3, count_changed=(it == 150)) for it in range(400)]
    assert stops.index(True) + 1 == 400  # 100..200 had the change; 200..300 has no predecessor


@pytest.mark.parametrize(
    ("window", "gain", "tail"),
    [(1, 0.01, 0.1), (100, -0.1, 0.1), (100, float("nan"), 0.1), (100, 0.01, -0.1), (100, 0.01, 1.5)],
)
def test_rules_refuse_meaningless_settings(window, gain, tail):
    with pytest.raises(ValueError, match=r"plateau window|min_gain_db|tail"):
        PlateauRule(window, gain, tail)


def test_the_anneal_falls_from_the_plateau_scale_to_the_final_one():
    """Over its tail the step scale falls monotonically from where the fit was to the budget's final
    scale, and stays there; the tail is its fraction of the budget, cut at the budget's end."""
    anneal = PlateauRule(100, 0.01, tail=0.1).anneal(1000, 5000, 0.6, 0.1)
    assert (anneal.start, anneal.end) == (1000, 1500)
    scales = [anneal.step_scale(it) for it in range(1000, 1600)]
    assert scales[0] == pytest.approx(0.6)
    assert scales[500] == pytest.approx(0.1)
    assert scales[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(scales))
    assert PlateauRule(100, 0.01, tail=0.1).anneal(4800, 5000, 0.12, 0.1).end == 5000
    assert PlateauRule(100, 0.01, tail=0.0).anneal(1000, 5000, 0.6, 0.1) == Anneal(1000, 1000, 0.6, 0.1)


def test_a_fit_ends_at_its_plateau_but_not_during_qa():
    """Without a tail, a rule no fit can meet (gain 100 dB per window) ends it after its second comparable window (the
    first window holds the densification at iteration 4), and the history holds the iterations it ran; a
    fit with QA runs its whole budget."""
    image = synthetic()
    rule = PlateauRule(window=10, min_gain_db=100.0, tail=0.0)
    cfg = FitConfig(count=60, iterations=200, densify_at=(0.02,), plateau=rule, preview_interval_s=60.0)
    steps = list(fit(image, cfg))
    assert steps[-1].preview is not None  # the last step shows where it ended
    result = run_fit(image, cfg)
    assert len(result.history["iteration"]) == 30
    assert result.history["iteration"][-1] == 30
    with_qa = FitConfig(count=60, iterations=40, plateau=rule, qa_training=True)
    assert len(run_fit(image, with_qa).history["iteration"]) == with_qa.total_iterations


def test_a_plateaued_fit_anneals_over_its_tail_then_ends():
    """The same plateau at iteration 30 with a tail of 0.25 of a 200-iteration budget: 50 iterations more,
    at smaller steps than the budget's own decay would have taken there, ending with the final scale."""
    image = synthetic()
    plain = FitConfig(count=60, iterations=200, densify_at=(0.02,), plateau=None, rate_slope=0.0)
    annealed = replace(plain, plateau=PlateauRule(window=10, min_gain_db=100.0, tail=0.25))
    result = run_fit(image, annealed)
    assert len(result.history["iteration"]) == 80
    assert result.history["iteration"][-1] == 80
    assert result.psnr != run_fit(image, replace(annealed, plateau=replace(annealed.plateau, tail=0.0))).psnr
    assert len(run_fit(image, plain).history["iteration"]) == 200
