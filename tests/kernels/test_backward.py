"""Gradients: kernels against the reference's analytic gradients, and the reference against finite differences."""

import numpy as np
import pytest

from lgi_kernels import RasterSettings, RenderMode, rasterize_backward, rasterize_forward, reference
from tests.conftest import random_gaussians

NAMES = ("v_means", "v_chol", "v_colors", "v_opacities")
MODES = list(RenderMode)


def kernel_and_reference_gradients(params, settings, seed):
    rng = np.random.default_rng(seed)
    v_image = rng.normal(size=(settings.height, settings.width, 3))
    _, ctx = rasterize_forward(*params, settings)
    _, rctx = reference.rasterize_forward(*params, settings)
    return rasterize_backward(ctx, v_image), reference.rasterize_backward(rctx, v_image)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("width", "height", "n", "seed"), [(45, 37, 40, 0), (33, 50, 60, 1)])
def test_kernel_gradients_match_reference(mode, width, height, n, seed):
    params = random_gaussians(n, seed)
    got, expected = kernel_and_reference_gradients(params, RasterSettings(width, height, mode=mode), seed)
    for name in NAMES:
        a, b = getattr(got, name), getattr(expected, name)
        assert a.shape == b.shape, name
        # float32 sums over hundreds of pixels: 1e-5 of the largest gradient of that kind
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(b).max()), err_msg=name)
    if mode is RenderMode.ACCUMULATED_SUM:
        assert not got.v_opacities.any()


@pytest.mark.parametrize("mode", MODES)
def test_kernel_gradients_with_crop_viewport(mode):
    from lgi_kernels import Viewport

    params = random_gaussians(30, 7)
    s = RasterSettings(40, 24, viewport=Viewport(0.2, 0.1, 0.7, 0.6), mode=mode)
    got, expected = kernel_and_reference_gradients(params, s, 7)
    for name in NAMES:
        b = getattr(expected, name)
        np.testing.assert_allclose(getattr(got, name), b, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("mode", MODES)
def test_reference_gradients_match_finite_differences(mode):
    """Central differences in float64; a wide cut-off keeps every pixel away from the cut-off edge."""
    rng = np.random.default_rng(11)
    n = 5
    params = [
        rng.uniform(0.25, 0.75, (n, 2)),
        np.stack([rng.uniform(0.08, 0.2, n), rng.uniform(-0.05, 0.05, n), rng.uniform(0.08, 0.2, n)], axis=1),
        rng.uniform(-0.5, 1.2, (n, 3)),
        rng.uniform(0.2, 0.9, n),
    ]
    s = RasterSettings(18, 14, mode=mode, cutoff_sigma=8.0)
    v_image = rng.normal(size=(14, 18, 3))

    def loss(ps):
        return float((reference.rasterize_forward(*ps, s)[0] * v_image).sum())

    analytic = reference.rasterize_backward(reference.rasterize_forward(*params, s)[1], v_image)
    eps = 1e-6
    for which, name in enumerate(NAMES):
        numeric = np.zeros_like(params[which])
        for idx in np.ndindex(params[which].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        if name == "v_opacities" and mode is RenderMode.ACCUMULATED_SUM:
            assert not numeric.any()
        np.testing.assert_allclose(getattr(analytic, name), numeric, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_of_nothing(mode):
    empty = (np.zeros((0, 2)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    _, ctx = rasterize_forward(*empty, RasterSettings(8, 8, mode=mode))
    grads = rasterize_backward(ctx, np.ones((8, 8, 3)))
    assert grads.v_means.shape == (0, 2)
    assert grads.v_opacities.shape == (0,)


@pytest.mark.parametrize("mode", MODES)
def test_off_screen_gaussians_get_zero_gradient(mode):
    params = (np.array([[-2.0, 0.5], [0.5, 0.5]]), np.full((2, 3), [0.1, 0.0, 0.1]), np.ones((2, 3)), np.full(2, 0.5))
    s = RasterSettings(16, 16, mode=mode)
    _, ctx = rasterize_forward(*params, s)
    grads = rasterize_backward(ctx, np.ones((16, 16, 3)))
    assert not grads.v_means[0].any()
    assert not grads.v_chol[0].any()
    assert not grads.v_colors[0].any()
    assert grads.v_colors[1].sum() > 0


def test_backward_rejects_wrong_shape():
    _, ctx = rasterize_forward(*random_gaussians(3, 0), RasterSettings(8, 8))
    with pytest.raises(ValueError, match="v_image must have shape"):
        rasterize_backward(ctx, np.zeros((8, 9, 3)))


@pytest.mark.parametrize("mode", MODES)
def test_split_launches_give_the_same_gradients(mode, monkeypatch):
    from lgi_kernels import rasterize as rasterize_module

    params = random_gaussians(150, 5)
    s = RasterSettings(96, 80, mode=mode)
    v_image = np.random.default_rng(5).normal(size=(80, 96, 3))
    whole = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
    monkeypatch.setattr(rasterize_module, "WORK_PER_LAUNCH", 500)
    _, ctx = rasterize_forward(*params, s)
    assert len(rasterize_module.launch_chunks(ctx.binning, s)) > 5
    split = rasterize_backward(ctx, v_image)
    for name in NAMES:
        b = getattr(whole, name)
        # same sums, other atomic order: equal up to float32 rounding
        np.testing.assert_allclose(getattr(split, name), b, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("mode", MODES)
def test_gradients_are_bit_reproducible(mode):
    """No float atomics: the same inputs give the same bits, run after run, whatever the thread timing."""
    params = random_gaussians(300, 9, size=(0.05, 0.3))
    s = RasterSettings(120, 90, mode=mode)
    v_image = np.random.default_rng(9).normal(size=(90, 120, 3))
    first = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
    for _ in range(3):
        again = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
        for name in NAMES:
            np.testing.assert_array_equal(getattr(again, name), getattr(first, name))


@pytest.mark.parametrize("mode", MODES)
def test_backward_after_the_fused_loss_equals_backward_after_a_plain_forward(mode):
    """The fused forward keeps each row's set-up for the backward pass: same gradients, bit for bit."""
    from lgi_kernels import rasterize_forward_l2

    params = random_gaussians(120, 4, size=(0.05, 0.3))
    s = RasterSettings(70, 53, mode=mode)
    target = np.random.default_rng(4).uniform(size=(53, 70, 3)).astype(np.float32)
    _, fused_ctx, v_image, _ = rasterize_forward_l2(*params, s, target)
    assert (fused_ctx.rows is not None) == (mode is RenderMode.ACCUMULATED_SUM)
    fused = rasterize_backward(fused_ctx, v_image)
    plain = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
    for name in NAMES:
        np.testing.assert_array_equal(getattr(fused, name), getattr(plain, name), err_msg=name)
    _, rctx = reference.rasterize_forward(*params, s)
    expected = reference.rasterize_backward(rctx, v_image)
    for name in NAMES:
        b = getattr(expected, name)
        np.testing.assert_allclose(getattr(fused, name), b, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(b).max()))


def test_fused_loss_split_into_many_launches_gives_the_same_gradients(monkeypatch):
    from lgi_kernels import rasterize as rasterize_module
    from lgi_kernels import rasterize_forward_l2

    params = random_gaussians(150, 5)
    s = RasterSettings(96, 80)
    target = np.random.default_rng(5).uniform(size=(80, 96, 3)).astype(np.float32)
    image, ctx, v_image, mse = rasterize_forward_l2(*params, s, target)
    whole = rasterize_backward(ctx, v_image)
    monkeypatch.setattr(rasterize_module, "WORK_PER_LAUNCH", 500)
    split_image, split_ctx, split_v, split_mse = rasterize_forward_l2(*params, s, target)
    assert len(rasterize_module.launch_chunks(split_ctx.binning, s)) > 5
    np.testing.assert_array_equal(split_image, image)
    np.testing.assert_array_equal(split_v, v_image)
    assert split_mse == mse
    split = rasterize_backward(split_ctx, split_v)
    for name in NAMES:
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name), err_msg=name)
