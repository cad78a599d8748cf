"""The colour-only passes a colour refit runs: a render with other colours on the kept binning, and the
colour gradient alone. Both must be what the full passes give, bit for bit, and what the reference gives."""

import numpy as np
import pytest

from lgi_kernels import (
    RasterSettings,
    RenderMode,
    rasterize_backward,
    rasterize_backward_colours,
    rasterize_forward,
    rasterize_forward_colours,
    rasterize_forward_l2,
    reference,
)
from tests.conftest import random_gaussians

SHAPES = [(45, 37, 40, 0, None), (96, 80, 150, 5, None), (70, 53, 120, 4, (8, 5)), (33, 50, 60, 1, (64, 256))]


def _other_colours(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 100).normal(size=(n, 3)).astype(np.float32)


@pytest.mark.parametrize(("width", "height", "n", "seed", "tile"), SHAPES)
def test_render_with_other_colours_equals_a_full_render(width, height, n, seed, tile):
    params = random_gaussians(n, seed, size=(0.05, 0.3))
    s = RasterSettings(width, height, tile_shape=tile)
    _, ctx = rasterize_forward(*params, s)
    colours = _other_colours(n, seed)
    got = rasterize_forward_colours(ctx, colours)
    full, _ = rasterize_forward(params[0], params[1], colours, params[3], s)
    np.testing.assert_array_equal(got, full)
    expected, _ = reference.rasterize_forward(params[0], params[1], colours, params[3], s)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=3e-5)


@pytest.mark.parametrize(("width", "height", "n", "seed", "tile"), SHAPES)
def test_colour_gradient_equals_the_full_backward(width, height, n, seed, tile):
    params = random_gaussians(n, seed, size=(0.05, 0.3))
    s = RasterSettings(width, height, tile_shape=tile)
    v_image = np.random.default_rng(seed).normal(size=(height, width, 3))
    _, ctx = rasterize_forward(*params, s)
    got = rasterize_backward_colours(ctx, v_image)
    np.testing.assert_array_equal(got, rasterize_backward(ctx, v_image).v_colors)
    _, rctx = reference.rasterize_forward(*params, s)
    expected = reference.rasterize_backward(rctx, v_image).v_colors
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(expected).max()))


def test_colour_passes_after_the_fused_loss_and_split_launches(monkeypatch):
    """After ``rasterize_forward_l2`` (which keeps row set-ups the colour pass does not use) and with the
    work cut into many launches, the colour passes still give the full passes' bits."""
    from lgi_kernels import rasterize as rasterize_module

    params = random_gaussians(150, 7, size=(0.05, 0.3))
    s = RasterSettings(96, 80)
    target = np.random.default_rng(7).uniform(size=(80, 96, 3)).astype(np.float32)
    image, ctx, v_image, _ = rasterize_forward_l2(*params, s, target)
    full = rasterize_backward(ctx, v_image).v_colors
    monkeypatch.setattr(rasterize_module, "WORK_PER_LAUNCH", 500)
    assert len(rasterize_module.launch_chunks(ctx.binning, s)) > 5
    np.testing.assert_array_equal(rasterize_forward_colours(ctx, params[2]), image)
    np.testing.assert_array_equal(rasterize_backward_colours(ctx, v_image), full)


def test_nothing_to_draw():
    _, ctx = rasterize_forward(*random_gaussians(0, 0), RasterSettings(8, 8))
    assert rasterize_backward_colours(ctx, np.zeros((8, 8, 3))).shape == (0, 3)
    assert not rasterize_forward_colours(ctx, np.zeros((0, 3))).any()


def test_colour_passes_refuse_what_they_cannot_do():
    params = random_gaussians(5, 0)
    _, alpha_ctx = rasterize_forward(*params, RasterSettings(8, 8, mode=RenderMode.ALPHA))
    with pytest.raises(ValueError, match="accumulated-sum"):
        rasterize_forward_colours(alpha_ctx, params[2])
    with pytest.raises(ValueError, match="accumulated-sum"):
        rasterize_backward_colours(alpha_ctx, np.zeros((8, 8, 3)))
    _, ctx = rasterize_forward(*params, RasterSettings(8, 8))
    with pytest.raises(ValueError, match="colors must have shape"):
        rasterize_forward_colours(ctx, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="v_image must have shape"):
        rasterize_backward_colours(ctx, np.zeros((8, 9, 3)))
