"""Tile shapes other than the default: the same pixels and gradients as the reference, tiles that do not
divide the picture, and the shapes a mode cannot take."""

import numpy as np
import pytest

from lgi_kernels import RasterSettings, RenderMode, rasterize_backward, rasterize_forward, reference
from lgi_kernels.settings import MAX_TILE, SUM_TILE, TILE
from tests.conftest import random_gaussians

NAMES = ("v_means", "v_chol", "v_colors", "v_opacities")
SUM = RenderMode.ACCUMULATED_SUM
ALPHA = RenderMode.ALPHA
# sum mode takes any shape; alpha's per-row registers are TILE pixels wide
CASES = [
    (SUM, (16, 16)),
    (SUM, (7, 5)),
    (SUM, (1, 3)),
    (SUM, (40, 9)),
    (SUM, (64, 256)),
    (ALPHA, (8, 5)),
    (ALPHA, (3, 20)),
]


def test_default_shapes():
    assert RasterSettings(8, 8).tile == SUM_TILE
    assert RasterSettings(8, 8, mode=ALPHA).tile == (TILE, TILE)
    assert RasterSettings(45, 37, tile_shape=(7, 5)).tiles == (7, 8)


@pytest.mark.parametrize(("mode", "shape"), CASES)
def test_forward_matches_reference(mode, shape):
    params = random_gaussians(50, 3)
    s = RasterSettings(45, 37, mode=mode, tile_shape=shape)
    image, _ = rasterize_forward(*params, s)
    expected, _ = reference.rasterize_forward(*params, s)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(image, expected, rtol=1e-4, atol=3e-5)


@pytest.mark.parametrize(("mode", "shape"), CASES)
def test_backward_matches_reference(mode, shape):
    params = random_gaussians(40, 6)
    s = RasterSettings(33, 50, mode=mode, tile_shape=shape)
    v_image = np.random.default_rng(6).normal(size=(50, 33, 3))
    got = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
    expected = reference.rasterize_backward(reference.rasterize_forward(*params, s)[1], v_image)
    for name in NAMES:
        b = getattr(expected, name)
        np.testing.assert_allclose(
            getattr(got, name), b, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(b).max()), err_msg=name
        )


def test_big_gaussians_on_the_widest_tiles_stay_within_tolerance():
    """Along a row G is stepped by recurrence across the whole tile: its rounding drift grows with the span
    (64 pixels here, Gaussians of 25-80 pixels), and must stay inside the forward and backward tolerances."""
    rng = np.random.default_rng(12)
    n = 30
    chol = np.stack([rng.uniform(0.1, 0.3, n), rng.uniform(-0.1, 0.1, n), rng.uniform(0.1, 0.3, n)], axis=1)
    params = (rng.uniform(0.2, 0.8, (n, 2)), chol, rng.uniform(-0.5, 1.2, (n, 3)), np.ones(n))
    s = RasterSettings(256, 200, tile_shape=MAX_TILE)
    image, ctx = rasterize_forward(*params, s)
    expected, rctx = reference.rasterize_forward(*params, s)
    np.testing.assert_allclose(image, expected, rtol=1e-4, atol=3e-5)
    v_image = rng.normal(size=(200, 256, 3))
    got = rasterize_backward(ctx, v_image)
    want = reference.rasterize_backward(rctx, v_image)
    for name in NAMES:
        b = getattr(want, name)
        np.testing.assert_allclose(
            getattr(got, name), b, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(b).max()), err_msg=name
        )


@pytest.mark.parametrize("shape", [(16, 16), (7, 5)])
def test_fused_loss_keeps_rows_for_any_shape(shape):
    """The row set-ups kept by the fused forward give the backward pass the same bits as recomputing them."""
    from lgi_kernels import rasterize_forward_l2

    params = random_gaussians(80, 8, size=(0.05, 0.3))
    s = RasterSettings(70, 53, tile_shape=shape)
    target = np.random.default_rng(8).uniform(size=(53, 70, 3)).astype(np.float32)
    _, ctx, v_image, _ = rasterize_forward_l2(*params, s, target)
    fused = rasterize_backward(ctx, v_image)
    plain = rasterize_backward(rasterize_forward(*params, s)[1], v_image)
    for name in NAMES:
        np.testing.assert_array_equal(getattr(fused, name), getattr(plain, name), err_msg=name)


@pytest.mark.parametrize(
    ("mode", "shape", "message"),
    [(SUM, (0, 4), "tile_shape"), (SUM, (4, 257), "tile_shape"), (SUM, (65, 4), "tile_shape"),
     (SUM, (4,), "tile_shape"), (SUM, (4.0, 4), "tile_shape"), (ALPHA, (32, 16), "at most 16 pixels wide")],
)  # fmt: skip
def test_bad_tile_shapes_raise(mode, shape, message):
    with pytest.raises(ValueError, match=message):
        RasterSettings(8, 8, mode=mode, tile_shape=shape)


def test_tile_shape_given_as_a_list_stays_hashable():
    assert hash(RasterSettings(8, 8, tile_shape=[8, 4])) == hash(RasterSettings(8, 8, tile_shape=(8, 4)))
