"""PSNR and (MS-)SSIM against values computed with a published implementation.

The expected numbers were computed once with pytorch-msssim 1.0.0 (torch 2.13.0, float64 tensors,
data_range=1.0) on exactly the images ``pair()`` builds here. pytorch-msssim builds its Gaussian window in
float32; ours is float64. The local means then differ by ~5e-8, which the variance terms (E[x^2] - mu^2)
amplify to ~1e-5 in SSIM, hence the tolerance.
"""

import numpy as np
import pytest

from lgi_studio.core.metrics import ms_ssim, psnr, psnr_8bit, ssim


def pair(seed: int, h: int, w: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * xx + seed), np.cos(5 * yy), xx * yy], -1) * 0.4 + 0.5
    return base, np.clip(base + rng.normal(0, noise, base.shape), 0, 1)


PYTORCH_MSSSIM = [
    # seed, h, w, noise, ssim, ms_ssim
    (0, 176, 200, 0.05, 0.3153867920073132, 0.8354886578575712),
    (1, 193, 171, 0.15, 0.05695091386329242, 0.5108910902018381),
    (2, 64, 48, 0.1, 0.21318371968385186, None),
]


@pytest.mark.parametrize(("seed", "h", "w", "noise", "expected_ssim", "expected_ms"), PYTORCH_MSSSIM)
def test_ssim_and_ms_ssim_match_pytorch_msssim(seed, h, w, noise, expected_ssim, expected_ms):
    a, b = pair(seed, h, w, noise)
    assert ssim(a, b) == pytest.approx(expected_ssim, abs=2e-5)
    if expected_ms is None:
        with pytest.raises(ValueError, match="at least 161 pixels"):
            ms_ssim(a, b)
    else:
        assert ms_ssim(a, b) == pytest.approx(expected_ms, abs=2e-5)


def test_identical_images_score_perfectly():
    a, _ = pair(0, 170, 170, 0.0)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ms_ssim(a, a) == pytest.approx(1.0)
    assert psnr(a, a) == float("inf")


def test_psnr_known_values():
    a = np.zeros((4, 4, 3))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    # one 8-bit step everywhere: 20 log10(255) = 48.13 dB
    assert psnr_8bit(a, np.full_like(a, 1 / 255)) == pytest.approx(48.1308036, abs=1e-6)
    # values outside [0, 1] are clipped as a display would
    assert psnr_8bit(np.full_like(a, -0.5), a) == float("inf")


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        ssim(np.zeros((20, 20, 3)), np.zeros((20, 21, 3)))


def test_ssim_gradient_matches_finite_differences():
    from lgi_studio.core.metrics import ssim_with_gradient

    a, b = pair(4, 16, 18, 0.1)
    value, grad = ssim_with_gradient(b, a)
    assert value == pytest.approx(ssim(b, a))
    rng = np.random.default_rng(0)
    eps = 1e-6
    for _ in range(25):
        idx = tuple(rng.integers(s) for s in b.shape)
        plus, minus = b.copy(), b.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric = (ssim(plus, a) - ssim(minus, a)) / (2 * eps)
        assert grad[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
