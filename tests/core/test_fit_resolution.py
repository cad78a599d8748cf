"""The fit's coarse-to-fine schedule: the half-resolution level, when it is used, and what a fit reports."""

import numpy as np

from lgi_kernels import RenderMode
from lgi_studio.core import fit as fit_module
from lgi_studio.core.fit import FitConfig, fit, run_fit
from lgi_studio.core.init import initialize
from tests.core.test_fit import synthetic


def _levels(width: int = 131, height: int = 97):
    image = synthetic(width, height)
    gaussians = initialize(image, 200, np.random.default_rng(0), "content", RenderMode.ACCUMULATED_SUM)
    return image, gaussians, fit_module._resolution_levels(gaussians, image, RenderMode.ACCUMULATED_SUM)


def test_half_level_is_the_mean_of_each_2x2_block_of_the_even_crop():
    image, _, (full, half) = _levels()
    assert full.image is image
    assert full.full
    assert half.image.shape == (48, 65, 3)
    assert not half.full
    np.testing.assert_allclose(half.image[3, 7], image[6:8, 14:16].reshape(-1, 3).mean(axis=0), rtol=1e-6)
    # half as many output pixels per picture unit on both axes, and the floor follows (in output px^2)
    np.testing.assert_allclose(half.settings.scale, np.array(full.settings.scale) / 2, rtol=1e-12)
    assert half.settings.cov_floor == full.settings.cov_floor / 4


def test_half_render_matches_the_downsampled_full_render():
    """Same Gaussians, same place: the coarse render is the fine one averaged (up to sampling), far closer
    than the same comparison one coarse pixel off."""
    _, gaussians, (_, half) = _levels()
    fine = gaussians.render(mode=RenderMode.ACCUMULATED_SUM)[:96, :130].reshape(48, 2, 65, 2, 3).mean(axis=(1, 3))
    coarse = gaussians.render(65, 48, viewport=half.settings.viewport)
    error = np.abs(coarse - fine)[1:-1, 1:-1].mean()
    shifted = np.abs(coarse[1:-1, 2:] - fine[1:-1, 1:-1]).mean()
    assert error < 0.1 * np.abs(fine).mean()
    assert error < shifted / 3


def test_small_pictures_have_no_coarse_level():
    assert _levels(64, 48)[2][1] is None


def test_coarse_first_then_full_and_never_during_qa():
    *_, levels = _levels()
    cfg = FitConfig(count=200, iterations=100)
    start = round(fit_module.COARSE_FRACTION * 100)
    assert not fit_module._level_at(levels, 0, cfg, in_qa=False).full
    assert not fit_module._level_at(levels, start - 1, cfg, in_qa=False).full
    assert fit_module._level_at(levels, start, cfg, in_qa=False).full
    assert fit_module._level_at(levels, 0, cfg, in_qa=True).full


def test_a_coarse_fit_previews_at_full_size_and_is_reproducible():
    image = synthetic(131, 97)
    cfg = FitConfig(count=120, iterations=16, preview_interval_s=0.0, seed=3)
    previews = [p.preview.shape for p in fit(image, cfg)]
    assert previews == [(97, 131, 3)] * 16
    a, b = run_fit(image, cfg), run_fit(image, cfg)
    for name in ("means", "chol", "colors"):
        np.testing.assert_array_equal(getattr(a.gaussians, name), getattr(b.gaussians, name))
    assert a.psnr > 15.0
