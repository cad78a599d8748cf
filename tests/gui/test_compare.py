"""Compare views' array work: split, error heatmap, ellipse outlines."""

import numpy as np

from lgi_studio.gui.compare import (
    ELLIPSE_SIGMAS,
    INDEX_COLOURS,
    ellipse_outlines,
    error_heatmap,
    overlay_paths,
    split_composite,
)


def frames():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    return a, b


def test_split_shows_the_original_left_and_the_reconstruction_right():
    a, b = frames()
    out = split_composite(a, b, 0.25)
    np.testing.assert_array_equal(out[:, :5], a[:, :5])
    np.testing.assert_array_equal(out[:, 6:], b[:, 6:])
    assert (out[:, 5] == 255).all()  # the dividing line
    np.testing.assert_array_equal(split_composite(a, b, 0.0), b)
    np.testing.assert_array_equal(split_composite(a, b, 1.0), a)


def test_error_heatmap_is_black_where_exact_and_brighter_where_wrong():
    a, _ = frames()
    exact = error_heatmap(a, a)
    assert exact.shape == a.shape
    assert exact.dtype == np.uint8
    assert exact.max() <= 5  # inferno starts near black
    worse = a.copy()
    worse[:, 10:] = 255 - worse[:, 10:]
    heat = error_heatmap(a, worse).astype(int).sum(axis=2)
    assert heat[:, 10:].mean() > heat[:, :10].mean() + 100


def test_ellipse_outlines_lie_on_the_one_sigma_contour():
    means = np.array([[10.0, 20.0], [3.0, 4.0]])
    cov = np.array([[9.0, 2.0, 4.0], [1.0, -0.5, 2.0]])
    x, y = ellipse_outlines(means, cov)
    assert x.shape == y.shape == (2, x.shape[1])
    for k in range(2):
        a, b, c = cov[k]
        inverse = np.linalg.inv([[a, b], [b, c]])
        d = np.stack([x[k] - means[k, 0], y[k] - means[k, 1]])
        np.testing.assert_allclose(np.einsum("in,ij,jn->n", d, inverse, d), ELLIPSE_SIGMAS**2, rtol=1e-9)
    np.testing.assert_allclose([x[:, 0], y[:, 0]], [x[:, -1], y[:, -1]])  # closed


def test_overlay_groups_ellipses_by_codebook_index():
    rng = np.random.default_rng(1)
    means = rng.uniform(0, 50, (40, 2))
    cov = np.tile([4.0, 0.0, 4.0], (40, 1))
    assert len(overlay_paths(means, cov, None)) == 1
    paths = overlay_paths(means, cov, np.arange(40))
    assert len(paths) == INDEX_COLOURS
    assert len({colour.name() for colour, _ in paths}) == INDEX_COLOURS
    assert all(not path.isEmpty() for _, path in paths)


def test_the_window_module_imports_no_kernels_and_no_scikit_learn():
    """The GUI process never runs a kernel or k-means; importing them would only slow the window's start
    (taichi ~0.3 s, scikit-learn ~1 s here)."""
    import os
    import subprocess
    import sys

    heavy = "('taichi', 'lgi_kernels', 'sklearn')"
    code = f"import sys, lgi_studio.gui.main_window; print([m for m in sys.modules if m.split('.')[0] in {heavy}])"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
