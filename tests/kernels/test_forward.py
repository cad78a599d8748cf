"""Forward rasterization against the dense float64 reference, and its edge cases."""

import itertools

import numpy as np
import pytest

from lgi_kernels import RasterSettings, RenderMode, Viewport, rasterize_forward, rasterize_forward_l2, reference
from lgi_kernels import rasterize as rasterize_module
from tests.conftest import random_gaussians

# float32 kernels vs float64 reference: the recursive row evaluation and the fast exp keep every pixel
# within a few 1e-6 of the reference for values of order 1.
ATOL = 3e-5
RTOL = 1e-4

MODES = list(RenderMode)


def both(params, settings):
    image, _ = rasterize_forward(*params, settings)
    expected, _ = reference.rasterize_forward(*params, settings)
    return image, expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("width", "height", "n", "seed"), [(45, 37, 40, 0), (16, 16, 10, 1), (70, 21, 80, 2)])
def test_matches_reference(mode, width, height, n, seed):
    image, expected = both(random_gaussians(n, seed), RasterSettings(width, height, mode=mode))
    assert image.shape == (height, width, 3)
    assert image.dtype == np.float32
    assert np.abs(expected).max() > 0.1  # the case really draws something
    np.testing.assert_allclose(image, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
def test_no_gaussians_renders_black(mode):
    empty = (np.zeros((0, 2)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    image, _ = rasterize_forward(*empty, RasterSettings(20, 10, mode=mode))
    assert image.shape == (10, 20, 3)
    assert not image.any()


@pytest.mark.parametrize("mode", MODES)
def test_single_gaussian_peak_is_its_colour(mode):
    params = (
        np.array([[0.5, 0.5]]),
        np.array([[0.2, 0.0, 0.2]]),
        np.array([[0.25, 0.5, 0.75]]),
        np.array([0.5]),
    )
    image, expected = both(params, RasterSettings(33, 33, mode=mode, cov_floor=1e-6))
    scale = 1.0 if mode is RenderMode.ACCUMULATED_SUM else 0.5
    np.testing.assert_allclose(image[16, 16], np.array([0.25, 0.5, 0.75]) * scale, rtol=1e-4)
    np.testing.assert_allclose(image, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
def test_gaussians_off_screen_draw_nothing(mode):
    means = np.array([[-0.6, 0.5], [1.7, 0.5], [0.5, -0.9], [0.5, 5.0], [1e6, -1e6]])
    n = len(means)
    params = (means, np.full((n, 3), [0.05, 0.0, 0.05]), np.ones((n, 3)), np.ones(n))
    image, ctx = rasterize_forward(*params, RasterSettings(30, 20, mode=mode))
    assert not image.any()
    assert len(ctx.binning.tile_list) == 0


@pytest.mark.parametrize("mode", MODES)
def test_nearly_degenerate_covariance_stays_finite(mode):
    """l22 = 0 gives a rank-one covariance: the floor keeps it positive definite (a thin line)."""
    params = (
        np.array([[0.5, 0.5], [0.3, 0.6]]),
        np.array([[0.3, 0.2, 0.0], [1e-7, 0.0, 1e-7]]),
        np.array([[1.0, 0.5, 0.2], [0.3, 0.3, 0.3]]),
        np.array([0.9, 0.9]),
    )
    image, expected = both(params, RasterSettings(40, 40, mode=mode))
    assert np.isfinite(image).all()
    assert image.max() > 0.5
    np.testing.assert_allclose(image, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
def test_one_pixel_output(mode):
    params = random_gaussians(20, 3, size=(0.2, 0.5))
    image, expected = both(params, RasterSettings(1, 1, mode=mode))
    assert image.shape == (1, 1, 3)
    np.testing.assert_allclose(image, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("zoom", [1, 2])
def test_crop_equals_region_of_full_render(mode, zoom):
    """A viewport render is exactly the matching pixels of a full render at the same scale."""
    params = random_gaussians(60, 4)
    width, height = 64 * zoom, 48 * zoom
    full, _ = rasterize_forward(*params, RasterSettings(width, height, mode=mode))
    # pixels [x 16..48) x [y 8..40) of the 64x48 frame, in normalized coordinates
    crop = Viewport(16 / 64, 8 / 48, 48 / 64, 40 / 48)
    part, _ = rasterize_forward(*params, RasterSettings(32 * zoom, 32 * zoom, viewport=crop, mode=mode))
    np.testing.assert_allclose(part, full[8 * zoom : 40 * zoom, 16 * zoom : 48 * zoom], rtol=RTOL, atol=ATOL)


def test_alpha_mode_follows_stored_order():
    """Swapping two overlapping opaque Gaussians changes the alpha render but not the sum render."""
    means = np.array([[0.5, 0.5], [0.5, 0.5]])
    chol = np.full((2, 3), [0.2, 0.0, 0.2])
    colors = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    opacities = np.array([0.95, 0.95])
    flip = [1, 0]
    for mode, should_differ in ((RenderMode.ALPHA, True), (RenderMode.ACCUMULATED_SUM, False)):
        s = RasterSettings(21, 21, mode=mode)
        a, _ = rasterize_forward(means, chol, colors, opacities, s)
        b, _ = rasterize_forward(means[flip], chol[flip], colors[flip], opacities[flip], s)
        assert (np.abs(a - b).max() > 0.5) == should_differ
    front_red, _ = rasterize_forward(means, chol, colors, opacities, RasterSettings(21, 21, mode=RenderMode.ALPHA))
    assert front_red[10, 10, 0] > front_red[10, 10, 2]


def test_alpha_early_stop_matches_reference():
    """Many opaque layers: compositing stops once transmittance would fall below T_MIN."""
    n = 12
    params = (
        np.full((n, 2), 0.5) + np.linspace(-0.05, 0.05, n)[:, None],
        np.full((n, 3), [0.4, 0.0, 0.4]),
        np.linspace(0.0, 1.0, 3 * n).reshape(n, 3),
        np.full(n, 0.98),
    )
    s = RasterSettings(24, 24, mode=RenderMode.ALPHA)
    image, ctx = rasterize_forward(*params, s)
    expected, _ = reference.rasterize_forward(*params, s)
    np.testing.assert_allclose(image, expected, rtol=RTOL, atol=ATOL)
    assert ctx.n_contrib[12, 12] < n  # the centre pixel stopped early


@pytest.mark.parametrize("mode", MODES)
def test_split_launches_give_the_same_image(mode, monkeypatch):
    """Cutting a render into many small launches (to keep GIL holds short) changes nothing."""
    params = random_gaussians(150, 5)
    s = RasterSettings(96, 80, mode=mode)
    whole, _ = rasterize_forward(*params, s)
    monkeypatch.setattr(rasterize_module, "WORK_PER_LAUNCH", 500)
    pieces = rasterize_module.launch_chunks(rasterize_forward(*params, s)[1].binning, s)
    assert len(pieces) > 5
    assert pieces[0][0] == 0
    assert pieces[-1][1] == s.tiles[0] * s.tiles[1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    split, _ = rasterize_forward(*params, s)
    np.testing.assert_array_equal(split, whole)


def test_bad_inputs_raise_clear_errors():
    good = random_gaussians(3, 0)
    s = RasterSettings(8, 8)
    with pytest.raises(ValueError, match="means must have shape"):
        rasterize_forward(np.zeros((3, 3)), *good[1:], s)
    with pytest.raises(ValueError, match="NaN"):
        rasterize_forward(good[0], np.full((3, 3), np.nan), *good[2:], s)
    with pytest.raises(ValueError, match="same number"):
        rasterize_forward(good[0][:2], *good[1:], s)
    with pytest.raises(ValueError, match="outside"):
        RasterSettings(0, 8)
    with pytest.raises(ValueError, match="viewport"):
        Viewport(0.5, 0.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="cov_floor"):
        RasterSettings(8, 8, cov_floor=0.0)


@pytest.mark.parametrize("mode", MODES)
def test_forward_with_l2_loss_matches_numpy(mode):
    """The fused loss gives the same render, the same dL/dimage bits and the same MSE as NumPy on the render."""
    params = random_gaussians(60, 11)
    s = RasterSettings(45, 37, mode=mode)
    target = np.random.default_rng(11).uniform(0.0, 1.0, (37, 45, 3)).astype(np.float32)
    image, ctx, v_image, mse = rasterize_forward_l2(*params, s, target)
    plain, _ = rasterize_forward(*params, s)
    np.testing.assert_array_equal(image, plain)
    diff = plain - target
    np.testing.assert_array_equal(v_image, diff * np.float32(2.0 / diff.size))
    assert mse == pytest.approx(float(np.mean(diff.astype(np.float64) ** 2)), rel=1e-6)  # squares in float32
    assert ctx.settings == s


def test_forward_with_l2_loss_rejects_a_wrong_target():
    with pytest.raises(ValueError, match="target must have shape"):
        rasterize_forward_l2(*random_gaussians(3, 0), RasterSettings(8, 8), np.zeros((8, 9, 3)))
