"""Coarse to fine (core.schedule): which resolution each iteration uses, that a coarse level draws the
block mean of the full render, its gradients, densification on a coarse grid, and what a fit does with it."""

from types import SimpleNamespace

import numpy as np
import pytest

from lgi_kernels import RenderMode, rasterize_backward, rasterize_forward
from lgi_studio.core.fit import FitConfig, fit, run_fit
from lgi_studio.core.init import initialize
from lgi_studio.core.model import Gaussians
from lgi_studio.core.optim import Adam, StepSizes
from lgi_studio.core.schedule import Resolutions, Schedule, build_levels, densify_at, upsampled
from tests.core.test_fit import synthetic

SUM = RenderMode.ACCUMULATED_SUM


def _gaussians(width: int, height: int, n: int = 150, seed: int = 0) -> tuple[np.ndarray, Gaussians]:
    image = synthetic(width, height, seed)
    gaussians = initialize(image, n, np.random.default_rng(seed), "content", SUM)
    rng = np.random.default_rng(seed + 1)
    gaussians.chol *= rng.uniform(1.0, 4.0, (n, 1)).astype(np.float32)  # some small, some large
    gaussians.chol[:, 1] += rng.normal(0.0, 0.3, n).astype(np.float32) * gaussians.chol[:, 0]  # tilted
    return image, gaussians


def test_iterations_run_coarsest_first_then_full():
    schedule = Schedule(((0.3, 4), (0.2, 2)), min_side=16)
    factors = [schedule.factor_at(it, 100) for it in range(100)]
    assert factors == [4] * 30 + [2] * 20 + [1] * 50
    assert Schedule().factor_at(0, 100) == 1


def test_resolutions_say_when_the_level_changes_and_end_at_full_size():
    resolutions = Resolutions(synthetic(160, 128), Schedule(((0.2, 4), (0.2, 2)), min_side=16), SUM, 10)
    seen = [resolutions.at(it) for it in range(12)]
    assert [level.factor for level, _ in seen] == [4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    assert [changed for _, changed in seen] == [False, False, True, False, True] + [False] * 7
    assert resolutions.at(0, in_qa=True)[0].factor == 1


@pytest.mark.parametrize("levels", [((1.0, 2),), ((0.5, 2), (0.6, 4)), ((0.2, 1),), ((0.0, 2),)])
def test_a_schedule_must_leave_full_resolution_and_downscale(levels):
    with pytest.raises(ValueError, match=r"coarse shares|downscale factors"):
        Schedule(levels)


def test_levels_are_block_means_of_the_covered_crop():
    image = synthetic(131, 97)
    levels = build_levels(image, Schedule(((0.3, 4), (0.2, 2)), min_side=16), SUM)
    assert sorted(levels) == [1, 2, 4]
    quarter = levels[4]
    assert quarter.image.shape == (24, 32, 3)
    np.testing.assert_allclose(quarter.image[5, 7], image[20:24, 28:32].reshape(-1, 3).mean(axis=0), rtol=1e-6)
    assert quarter.coverage == (128 / 131, 96 / 97)
    assert levels[1].image is image


def test_small_pictures_and_alpha_fits_stay_at_full_resolution():
    schedule = Schedule(((0.5, 4),), min_side=16)
    assert sorted(build_levels(synthetic(100, 60), schedule, SUM)) == [1]  # 60 // 4 < 16 px
    assert sorted(build_levels(synthetic(160, 160), schedule, SUM, count=50)) == [1, 4]
    assert sorted(build_levels(synthetic(160, 160), schedule, SUM, count=51)) == [1]  # 1600 px < 32 x 51
    assert sorted(build_levels(synthetic(512, 512), Schedule(((0.5, 4),)), SUM)) == [1, 4]
    assert sorted(build_levels(synthetic(500, 500), Schedule(((0.5, 4),)), SUM)) == [1]  # 125 < 128 px
    assert sorted(build_levels(synthetic(160, 160), schedule, RenderMode.ALPHA)) == [1]
    assert Resolutions(synthetic(100, 60), schedule, SUM, 10).at(0)[0].factor == 1


@pytest.mark.parametrize("factor", [2, 4])
def test_a_coarse_render_is_the_block_mean_of_the_full_render(factor):
    """The grown floor and the mass scale make the coarse picture what averaging the full one gives; the
    plain floor-scaled render (the peak kept) is several times further off."""
    image, gaussians = _gaussians(128, 96)
    level = build_levels(image, Schedule(((0.5, factor),), min_side=16), SUM)[factor]
    h, w = level.image.shape[:2]
    full = gaussians.render(mode=SUM)[: h * factor, : w * factor]
    expected = full.reshape(h, factor, w, factor, 3).mean(axis=(1, 3))
    drawn, rho = level.shown(gaussians)
    coarse, _ = rasterize_forward(*drawn.arrays(), level.settings)
    plain = gaussians.render(w, h, SUM, level.settings.viewport)
    error = np.abs(coarse - expected).mean()
    assert error < 0.01 * np.abs(expected).mean()
    assert error < np.abs(plain - expected).mean() / 2.5
    assert np.all((rho > 0.0) & (rho < 1.0))


def test_the_mass_scales_shape_gradient_matches_finite_differences():
    """d log(rho) / d(chol) against central differences in float64 (rho is smooth; the kernels' own shape
    gradients are checked in tests/kernels)."""
    image, gaussians = _gaussians(96, 64, n=40, seed=3)
    level = build_levels(image, Schedule(((0.5, 4),), min_side=16), SUM)[4]
    analytic = level._log_rho_chol_gradient(gaussians)
    chol = gaussians.chol.astype(np.float64)
    numeric = np.zeros_like(chol)
    for k in range(3):
        step = 1e-6 * float(np.abs(chol[:, k]).mean())
        logs = []
        for sign in (1.0, -1.0):
            moved = chol.copy()
            moved[:, k] += sign * step
            logs.append(np.log(level.mass_scale(SimpleNamespace(chol=moved))))
        numeric[:, k] = (logs[0] - logs[1]) / (2.0 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max())


def test_coarse_gradients_follow_the_mass_scale():
    """Colour gradients equal central differences of the coarse loss; a Gaussian whose kernel gradient
    for l21 is small gets most of its shape gradient through rho, and the sum matches the differences."""
    image, gaussians = _gaussians(96, 64, n=40, seed=3)
    level = build_levels(image, Schedule(((0.5, 2),), min_side=16), SUM)[2]

    def loss(g: Gaussians) -> float:
        drawn, _ = level.shown(g)
        render, _ = rasterize_forward(*drawn.arrays(), level.settings)
        return float(np.mean((render.astype(np.float64) - level.image) ** 2))

    def numeric(name: str, i: int, k: int, rel: float) -> float:
        step = rel * float(np.abs(getattr(gaussians, name)[:, k]).mean())
        probes = []
        for sign in (1.0, -1.0):
            moved = gaussians.copy()
            getattr(moved, name)[i, k] += sign * step
            probes.append(loss(moved))
        return (probes[0] - probes[1]) / (2.0 * step)

    drawn, rho = level.shown(gaussians)
    render, ctx = rasterize_forward(*drawn.arrays(), level.settings)
    v_image = (2.0 * (render - level.image) / render.size).astype(np.float32)
    raw = rasterize_backward(ctx, v_image)
    grads = level.gradients(raw, gaussians, rho)
    for i, k in ((0, 0), (5, 1), (17, 2), (30, 0)):
        assert grads.v_colors[i, k] == pytest.approx(numeric("colors", i, k, 1e-2), rel=1e-4)
    assert raw.v_chol[5, 1] < 0.2 * numeric("chol", 5, 1, 1e-2)
    assert grads.v_chol[5, 1] == pytest.approx(numeric("chol", 5, 1, 1e-2), rel=0.01)


def test_densifying_on_a_coarse_level_places_gaussians_in_frame_coordinates():
    """New Gaussians drawn on the 1/4 grid land where the coarse error is, at the size the frame sees."""
    image = np.zeros((96, 130, 3), np.float32)
    image[40:56, 80:100] = 1.0  # nearly the only error: a bright patch
    gaussians = initialize(image, 60, np.random.default_rng(0), "random", SUM)
    gaussians.colors[:] = 0.01
    level = build_levels(image, Schedule(((0.5, 4),), min_side=16), SUM)[4]
    drawn, _ = level.shown(gaussians)
    render, _ = rasterize_forward(*drawn.arrays(), level.settings)
    adam = Adam(StepSizes().per_parameter(130, 96), len(gaussians))
    grown = densify_at(level, gaussians, adam, render, 160, np.random.default_rng(1), SUM, 16.0)
    new = grown.take(np.arange(60, 160))
    assert len(grown) == 160
    assert len(adam.m["means"]) == 160
    assert grown.native_size == (130, 96)
    np.testing.assert_array_equal(grown.means[:60], gaussians.means)
    x, y = new.means[:, 0] * 130, new.means[:, 1] * 96
    assert np.mean((x > 76) & (x < 104) & (y > 36) & (y < 60)) > 0.6  # 5% of the draws are uniform
    assert new.sigmas_px().min() >= 4 * 0.5 * (128 / 130) - 1e-4  # at least half a coarse pixel


def test_previews_of_a_coarse_render_have_the_pictures_size():
    image = synthetic(131, 97)
    level = build_levels(image, Schedule(((0.5, 2),), min_side=16), SUM)[2]
    coarse = np.arange(48 * 65 * 3, dtype=np.float32).reshape(48, 65, 3)
    big = upsampled(coarse, level)
    assert big.shape == (97, 131, 3)
    np.testing.assert_array_equal(big[3, 5], coarse[1, 2])
    np.testing.assert_array_equal(big[96, 130], coarse[47, 64])


def test_a_coarse_to_fine_fit_is_reproducible_and_close_to_the_plain_fit():
    """Seeded c2f fits are bit-identical; with 40% of a small fit at 1/4 and 1/2 size it ends within 0.5 dB
    of the full-resolution fit of the same budget, and previews keep the picture's size."""
    image = synthetic(128, 128, seed=2)
    schedule = Schedule(((0.2, 4), (0.2, 2)), min_side=16, min_pixels_per_gaussian=8.0)
    resolutions = Resolutions(image, schedule, SUM, 120, 120)
    assert [resolutions.at(it)[0].factor for it in (0, 23, 24, 47, 48)] == [4, 4, 2, 2, 1]
    plain = FitConfig(count=120, iterations=120, seed=5, preview_interval_s=0.0)
    c2f = FitConfig(count=120, iterations=120, seed=5, preview_interval_s=0.0, schedule=schedule)
    shapes = {step.preview.shape for step in fit(image, c2f)}
    assert shapes == {(128, 128, 3)}
    a, b = run_fit(image, c2f), run_fit(image, c2f)
    for name in ("means", "chol", "colors"):
        np.testing.assert_array_equal(getattr(a.gaussians, name), getattr(b.gaussians, name))
    assert a.psnr > run_fit(image, plain).psnr - 0.5
