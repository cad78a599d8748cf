"""Least-squares colour refit: CGLS through the rasterizer reaches the dense least-squares optimum."""

import numpy as np

from lgi_kernels import RenderMode
from lgi_studio.core.fit import quantize_for_file, quantize_for_file_steps
from lgi_studio.core.model import Gaussians
from lgi_studio.core.refit import refit_codebooks, refit_colours
from lgi_studio.core.schemes import CodebookUse, get_scheme
from lgi_studio.engine.process import slider_scheme
from lgi_studio.io.lgi_format import encode_lgi


def scene(n: int = 24, seed: int = 0) -> tuple[Gaussians, np.ndarray]:
    rng = np.random.default_rng(seed)
    chol = np.stack([rng.uniform(0.05, 0.15, n), rng.uniform(-0.03, 0.03, n), rng.uniform(0.05, 0.15, n)], 1)
    g = Gaussians(rng.uniform(0, 1, (n, 2)), chol, rng.normal(0.3, 0.2, (n, 3)), np.ones(n), (24, 16))
    yy, xx = np.mgrid[0:16, 0:24] / 16.0
    image = np.stack([np.sin(3 * xx), yy, (xx * yy) % 1.0], -1).astype(np.float32)
    return g, image


def footprints(g: Gaussians) -> np.ndarray:
    """Dense ``F`` [pixels, N]: the render of each Gaussian alone with colour 1 (our rasterizer)."""
    columns = []
    for i in range(len(g)):
        colours = np.zeros((len(g), 3), np.float32)
        colours[i] = 1.0
        columns.append(Gaussians(g.means, g.chol, colours, g.opacities, g.native_size).render()[..., 0].ravel())
    return np.stack(columns, 1).astype(np.float64)


def objective(F: np.ndarray, colours: np.ndarray, image: np.ndarray) -> float:
    return float(((F @ colours - image.reshape(-1, 3)) ** 2).sum())


def test_refit_colours_reaches_the_least_squares_optimum():
    g, image = scene()
    F = footprints(g)
    best, *_ = np.linalg.lstsq(F, image.reshape(-1, 3).astype(np.float64), rcond=None)
    refit = refit_colours(g, image, iterations=len(g) * 2)
    assert objective(F, refit, image) <= objective(F, best, image) * 1.001 + 1e-6
    assert objective(F, refit, image) < 0.5 * objective(F, g.colors, image)


def test_refit_codebooks_solves_for_the_entries_and_keeps_assignments():
    g, image = scene()
    F = footprints(g)
    index = np.arange(len(g)) % 5
    M = np.eye(5)[index]  # colours = M @ book
    use = CodebookUse(np.zeros((5, 3), np.float32), index, slice(5, 8))
    refit_codebooks(g, [use], image, iterations=20)
    best, *_ = np.linalg.lstsq(F @ M, image.reshape(-1, 3).astype(np.float64), rcond=None)
    assert objective(F @ M, use.book, image) <= objective(F @ M, best, image) * 1.001 + 1e-6


def test_quantize_for_file_refits_colours_and_leaves_its_input_alone():
    g, image = scene(60)
    mode = RenderMode.ACCUMULATED_SUM
    for name in ("lgi", "lgi-sq"):
        scheme = get_scheme(name)
        posthoc = scheme.quantize(g, mode, scheme.train(g, mode, 8))
        books = [use.book.copy() for use in scheme.codebooks(posthoc)]
        refit = quantize_for_file(g, image, mode, name, 8, quantized=posthoc)
        error = np.mean((scheme.dequantize(refit).render() - image) ** 2)
        assert error < 0.8 * np.mean((scheme.dequantize(posthoc).render() - image) ** 2)
        for use, book in zip(scheme.codebooks(posthoc), books, strict=True):
            np.testing.assert_array_equal(use.book, book)  # the caller's symbols and codebooks are untouched


def test_in_steps_the_launch_free_training_is_handed_out_and_the_file_is_the_same():
    """The GUI's engine runs these steps between commands (``engine.measure``): at most one launch a step,
    each k-means handed to its driver as a callable."""
    g, image = scene(60)
    mode = RenderMode.ACCUMULATED_SUM
    steps = quantize_for_file_steps(g, image, mode, "lgi-sq", None, prune=False)  # one candidate file
    handed, plain, answer = 0, 0, None
    while True:
        try:
            request = steps.send(answer)
        except StopIteration as done:
            quantized = done.value
            break
        handed, plain = handed + (request is not None), plain + (request is None)
        answer = request() if request is not None else None
    assert handed == 2  # the first quantization's training and the refit colours'
    assert plain >= 2 * 25  # a step per forward and per adjoint pass of the CGLS
    whole = quantize_for_file(g, image, mode, "lgi-sq", None, prune=False)
    assert encode_lgi(quantized) == encode_lgi(whole)


def test_the_slider_uses_a_codebook_scheme():
    assert slider_scheme("lgi-sq") == "lgi"
    assert slider_scheme("float32") == "lgi"
    assert slider_scheme("gaussianimage") == "lgi"  # its codebooks have a fixed size
    assert slider_scheme("vq") == "vq"
