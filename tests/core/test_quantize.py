"""Quantizers, schemes and quantization-aware training."""

import numpy as np
import pytest

from lgi_kernels import RenderMode
from lgi_studio.core import fit as fit_module
from lgi_studio.core.entropy import EntropyError
from lgi_studio.core.fit import FitConfig, fit, run_fit
from lgi_studio.core.model import Gaussians
from lgi_studio.core.quantize import ResidualVectorQuantizer, ScalarQuantizer, VectorQuantizer, auto_codebook_size
from lgi_studio.core.requantize import requantize
from lgi_studio.core.schemes import SCHEMES, LgiScheme, SchemeError, get_scheme, scheme_of
from lgi_studio.core.shape import chol_to_shape, shape_to_chol
from lgi_studio.core.step_rule import operating_steps
from tests.core.test_fit import synthetic


def gaussians(n: int = 300, seed: int = 0, size: tuple[int, int] = (64, 48)) -> Gaussians:
    rng = np.random.default_rng(seed)
    chol = np.stack([rng.uniform(0.01, 0.06, n), rng.uniform(-0.02, 0.02, n), rng.uniform(0.01, 0.06, n)], 1)
    return Gaussians(rng.uniform(-0.04, 1.04, (n, 2)), chol, rng.normal(0.4, 0.3, (n, 3)), rng.uniform(0, 1, n), size)


def test_codebook_entries_quantize_to_themselves():
    vectors = np.random.default_rng(0).normal(size=(500, 3))
    vq = VectorQuantizer.train(vectors, 32, seed=1)
    np.testing.assert_array_equal(vq.quantize(vq.codebook), np.arange(32))


def test_distortion_falls_as_the_codebook_grows():
    vectors = np.random.default_rng(0).normal(size=(2000, 3))
    distortions = [VectorQuantizer.train(vectors, k, seed=0).distortion(vectors) for k in (4, 16, 64, 256)]
    assert distortions == sorted(distortions, reverse=True)
    assert distortions[-1] < 0.1 * distortions[0]


def test_kmeans_plus_plus_is_deterministic_under_a_seed():
    vectors = np.random.default_rng(0).normal(size=(800, 3))
    a = VectorQuantizer.train(vectors, 20, seed=5).codebook
    np.testing.assert_array_equal(a, VectorQuantizer.train(vectors, 20, seed=5).codebook)
    assert not np.array_equal(a, VectorQuantizer.train(vectors, 20, seed=6).codebook)


def test_normalization_stops_one_dimension_dominating():
    rng = np.random.default_rng(0)
    vectors = np.stack([rng.normal(0, 1000, 1000), rng.normal(0, 0.001, 1000)], 1)
    vq = VectorQuantizer.train(vectors, 16, seed=0)
    relative = np.abs(vq.dequantize(vq.quantize(vectors)) - vectors).mean(axis=0) / vectors.std(axis=0)
    assert relative[1] < 0.5  # the tiny dimension is still resolved


def test_residual_stages_reduce_error():
    vectors = np.random.default_rng(0).normal(size=(1000, 3))
    one = ResidualVectorQuantizer.train(vectors, [16])
    two = ResidualVectorQuantizer.train(vectors, [16, 16])
    err = [np.mean((r.dequantize(r.quantize(vectors)) - vectors) ** 2) for r in (one, two)]
    assert err[1] < 0.5 * err[0]


def test_scalar_quantizer_hits_its_range_ends():
    values = np.array([[0.0, -2.0], [1.0, 2.0], [0.5, 0.0]])
    sq = ScalarQuantizer.fit(values, 6)
    codes = sq.quantize(values)
    assert codes.min() == 0
    assert codes.max() == 63
    np.testing.assert_allclose(sq.dequantize(codes), values, atol=4 / 63)


def test_auto_codebook_size_rule():
    assert [auto_codebook_size(n) for n in (100, 499, 500, 2000, 2001, 50000)] == [128, 128, 256, 256, 512, 512]


@pytest.mark.parametrize(
    ("size", "message"), [(0, "between 2 and 4096"), (5000, "between 2 and 4096"), (301, "larger than")]
)
def test_impossible_codebook_sizes_are_refused(size, message):
    with pytest.raises(ValueError, match=message):
        VectorQuantizer.train(np.zeros((300, 3)), size)


def test_shape_round_trip():
    g = gaussians(200)
    back = shape_to_chol(*chol_to_shape(g.chol, 64, 48), 64, 48)

    def cov(c):
        return np.stack([c[:, 0] ** 2, c[:, 0] * c[:, 1], c[:, 1] ** 2 + c[:, 2] ** 2], 1)

    np.testing.assert_allclose(cov(back), cov(g.chol), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("mode", list(RenderMode))
@pytest.mark.parametrize("name", SCHEMES)
def test_every_scheme_round_trips_bit_exactly(name, mode):
    """unpack(pack(q)) decodes to exactly dequantize(q) (as a set: lgi stores sum-mode Gaussians sorted)."""
    g = gaussians(300)
    scheme = get_scheme(name)
    q = scheme.quantize(g, mode, scheme.train(g, mode, 64, seed=0))
    payload = scheme.pack(q)
    again = scheme.dequantize(scheme.unpack(payload, len(g), g.native_size, mode))
    direct = scheme.dequantize(q)

    def rows(x: Gaussians) -> np.ndarray:
        columns = [x.means, x.chol, x.colors] + ([x.opacities[:, None]] if mode is RenderMode.ALPHA else [])
        table = np.concatenate(columns, axis=1)
        return table[np.lexsort(table.T[::-1])]

    np.testing.assert_array_equal(rows(again), rows(direct))
    if mode is RenderMode.ALPHA or not name.startswith("lgi"):
        np.testing.assert_array_equal(again.means, direct.means)  # order kept where it matters


@pytest.mark.parametrize("name", SCHEMES)
def test_truncated_payloads_are_refused_cleanly(name):
    g = gaussians(120)
    scheme = get_scheme(name)
    payload = scheme.pack(
        scheme.quantize(g, RenderMode.ACCUMULATED_SUM, scheme.train(g, RenderMode.ACCUMULATED_SUM, 32))
    )
    for cut in range(0, len(payload), max(1, len(payload) // 40)):
        with pytest.raises((SchemeError, EntropyError)):
            scheme.unpack(payload[:cut], len(g), g.native_size, RenderMode.ACCUMULATED_SUM)


def test_lgi_bits_are_well_below_float():
    g = gaussians(2000, size=(768, 512))
    lgi = get_scheme("lgi")
    q = lgi.quantize(g, RenderMode.ACCUMULATED_SUM, lgi.train(g, RenderMode.ACCUMULATED_SUM, None))
    bits_per_gaussian = 8 * len(lgi.pack(q)) / len(g)
    assert bits_per_gaussian < 64  # float32 takes 256


def test_unknown_scheme_is_refused():
    with pytest.raises(SchemeError, match="unknown quantization scheme"):
        get_scheme("jpeg")


def test_lgi_angle_precision_follows_elongation():
    lgi = LgiScheme()
    size = np.full(3, 80)
    levels = lgi._angle_levels(size, np.array([0, 16, 48]))  # aspect 1, 2, 8
    assert levels[0] == 1
    assert levels[0] < levels[1] < levels[2]


@pytest.mark.parametrize(("scheme", "switch", "total"), [("lgi", 20, 40), ("lgi-sq", 40, 60)])
def test_qa_switches_at_the_configured_iteration_and_reports_real_bits(scheme, switch, total):
    """Codebook QA replaces the end of the fit; lgi-sq's staged QA tunes the finished fit for as many
    iterations again as the codebook QA would take (``1 - qa_start`` of the fit)."""
    cfg = FitConfig(
        count=120,
        iterations=40,
        qa_training=True,
        qa_start=0.5,
        codebook_size=16 if scheme == "lgi" else None,
        scheme=scheme,
    )
    events = list(fit(synthetic(), cfg))
    phases = [e.phase for e in events]
    assert len(events) == total == cfg.total_iterations == events[-1].total
    assert phases.index("qa") == switch == cfg.qa_start_iteration
    assert all(e.qa_start is None for e in events[:switch])
    assert all(e.qa_start == switch for e in events[switch:])
    assert events[-1].bpp < events[0].bpp / 3  # quantized bits, not float32


def test_qa_result_holds_the_quantized_gaussians_and_their_bytes_match():
    image = synthetic()
    result = run_fit(image, FitConfig(count=120, iterations=40, qa_training=True))
    q = result.quantized
    scheme = scheme_of(q)
    assert q.n == len(result.gaussians) <= 120  # lgi-sq's QA may drop Gaussians not worth their bits
    decoded = scheme.dequantize(scheme.unpack(scheme.pack(q), q.n, q.native_size, q.mode))
    np.testing.assert_allclose(
        np.sort(decoded.render(), axis=None), np.sort(scheme.dequantize(q).render(), axis=None), atol=1e-5
    )


def test_straight_through_gradients_come_from_the_dequantized_gaussians(monkeypatch):
    """During QA the renderer sees the dequantized Gaussians, and its gradient updates the float ones."""
    seen = []
    real = fit_module.rasterize_forward_l2  # the fit's render: with the L2 loss in the same launch

    def spy(means, chol, colors, opacities, settings, target):
        seen.append((means.copy(), chol.copy()))
        return real(means, chol, colors, opacities, settings, target)

    monkeypatch.setattr(fit_module, "rasterize_forward_l2", spy)
    cfg = FitConfig(count=100, iterations=10, qa_training=True, qa_start=0.5, scheme="lgi", codebook_size=8)
    events = list(fit(synthetic(), cfg))
    assert events[5].phase == "qa"
    lgi = LgiScheme()
    cells = lgi._grid((64, 48))[:2]
    for means, _ in seen[5:]:
        # positions on the quarter-pixel grid: quantized ones, not the float parameters
        grid = (means + LgiScheme.MARGIN) * np.array(cells, np.float32)
        np.testing.assert_allclose(grid, np.round(grid), atol=1e-3)
    assert not np.allclose(seen[6][0], seen[9][0])  # and they move: the float parameters learn


def test_staged_qa_holds_positions_then_shapes_on_their_grids(monkeypatch):
    """lgi-sq's QA, after the 10 float iterations: positions quantized and fixed from the switch, shapes from
    halfway through the 6 tuning iterations, while the rest keeps training; the QA symbols are exactly what
    post-hoc quantization of the final Gaussians gives, and the float fit it started from is kept."""
    seen = []
    real = fit_module.rasterize_forward_l2  # the fit's render: with the L2 loss in the same launch

    def spy(means, chol, colors, opacities, settings, target):
        seen.append((means.copy(), chol.copy(), colors.copy()))
        return real(means, chol, colors, opacities, settings, target)

    monkeypatch.setattr(fit_module, "rasterize_forward_l2", spy)
    image = synthetic()
    cfg = FitConfig(count=100, iterations=10, qa_training=True, qa_start=0.4, densify=False, scheme="lgi-sq")
    events = list(fit(image, cfg))
    assert [e.phase for e in events].index("qa") == 10
    assert len(events) == 16
    result = run_fit(image, cfg)
    del seen[16:]  # the second run's frames: the same again
    lgi = scheme_of(result.quantized)
    assert lgi.steps == operating_steps(len(result.gaussians), 64, 48)  # the grid of the count tuned
    for k, (means, chol, _) in enumerate(seen[10:], start=10):
        g = Gaussians(means, chol, np.zeros((len(means), 3), np.float32), np.ones(len(means)), (64, 48))
        snapped = lgi.snap_geometry(g, shapes=k >= 13)
        np.testing.assert_array_equal(snapped.means, means)
        np.testing.assert_allclose(snapped.chol, chol, rtol=1e-6, atol=1e-9)
    assert all(np.array_equal(seen[10][0], m) for m, _, _ in seen[11:])  # positions no longer move
    assert not np.allclose(seen[10][1], seen[12][1])  # shapes still train until iteration 13
    assert all(np.array_equal(seen[13][1], c) for _, c, _ in seen[14:])  # then they are held
    assert not np.allclose(seen[13][2], seen[15][2])  # colours train to the end
    posthoc = lgi.quantize(result.gaussians, cfg.mode, lgi.train(result.gaussians, cfg.mode, None))
    for name, symbols in posthoc.symbols.items():
        np.testing.assert_array_equal(result.quantized.symbols[name], symbols)
    plain = run_fit(image, FitConfig(count=100, iterations=10, densify=False))
    for name in ("means", "chol", "colors"):  # the float fit QA started from is the fit without QA
        np.testing.assert_array_equal(getattr(result.fitted, name), getattr(plain.gaussians, name))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qa_start": 1.5}, "qa_start must be"),
        ({"qa_start": -0.1}, "qa_start must be"),
        ({"scheme": "lgi", "codebook_size": 0}, "codebook size must be between"),
        ({"scheme": "lgi", "count": 50, "codebook_size": 64}, "larger than the Gaussian count"),
        ({"scheme": "png"}, "scheme must be one of"),
    ],
)
def test_invalid_qa_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FitConfig(qa_training=True, **kwargs)


def test_requantize_reports_psnr_bytes_and_caches():
    image = synthetic()
    result = run_fit(image, FitConfig(count=150, iterations=30))
    cache: dict = {}
    small = requantize(result.gaussians, image, RenderMode.ACCUMULATED_SUM, 4, cache=cache)
    big = requantize(result.gaussians, image, RenderMode.ACCUMULATED_SUM, 64, previous=small.quantized, cache=cache)
    assert big.psnr > small.psnr
    assert big.bytes > small.bytes
    assert set(cache) == {4, 64}
    assert small.psnr_loss > 0
    again = requantize(result.gaussians, image, RenderMode.ACCUMULATED_SUM, 4, cache=cache)
    assert again.psnr == small.psnr


@pytest.mark.parametrize("symbols", [[0] * 40, [3] * 40, [0, 1] * 20, list(range(300))])
def test_categorical_streams_round_trip_even_when_constant(symbols):
    from lgi_studio.core.entropy import decode_categorical, encode_categorical

    data = encode_categorical(np.array(symbols))
    decoded, end = decode_categorical(data)
    np.testing.assert_array_equal(decoded, symbols)
    assert end == len(data)


@pytest.mark.parametrize("mode", list(RenderMode))
def test_lgi_payload_is_its_parts_in_order(mode):
    g = gaussians(200)
    scheme = get_scheme("lgi-sq")
    q = scheme.quantize(g, mode, scheme.train(g, mode, None))
    parts = scheme.pack_parts(q)
    assert b"".join(parts.values()) == scheme.pack(q)
    assert ("opacities" in parts) == (mode is RenderMode.ALPHA)
