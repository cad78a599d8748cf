"""Image quality metrics: PSNR and (MS-)SSIM.

SSIM and MS-SSIM follow pytorch-msssim (Wang et al. 2003/2004): an 11-tap Gaussian window with sigma 1.5,
"valid" filtering (no padding), K = (0.01, 0.03), per-channel values averaged over RGB, five scales with
weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) and 2x2 average pooling (zero-padded on odd sides). The tests
pin our values to numbers computed with pytorch-msssim 1.0.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW = 11
WINDOW_SIGMA = 1.5


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB over all pixels and channels; inf for identical images."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(peak * peak / mse)


def psnr_8bit(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two pictures as 8-bit images would show them (each clipped and rounded to 0..255)."""
    return psnr(_as_8bit(a), _as_8bit(b), peak=255.0)


def _as_8bit(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float64)
    return np.round(np.clip(np.asarray(x, np.float64), 0.0, 1.0) * 255.0)


def _window() -> np.ndarray:
    coords = np.arange(WINDOW, dtype=np.float64) - WINDOW // 2
    g = np.exp(-(coords**2) / (2.0 * WINDOW_SIGMA**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian over the two image axes of ``[H, W, C]``, keeping only fully covered positions."""
    win = _window()
    half = WINDOW // 2
    y = correlate1d(x, win, axis=0, mode="constant")[half : x.shape[0] - half]
    return correlate1d(y, win, axis=1, mode="constant")[:, half : x.shape[1] - half]


def _ssim_and_cs(x: np.ndarray, y: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel SSIM and contrast-structure terms, each ``[C]``."""
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_x, mu_y = _filter_valid(x), _filter_valid(y)
    var_x = _filter_valid(x * x) - mu_x**2
    var_y = _filter_valid(y * y) - mu_y**2
    cov = _filter_valid(x * y) - mu_x * mu_y
    cs_map = (2.0 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2.0 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.mean(axis=(0, 1)), cs_map.mean(axis=(0, 1))


def _prepare(a: np.ndarray, b: np.ndarray, min_side: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, np.float64)
    y = np.asarray(b, np.float64)
    if x.shape != y.shape or x.ndim != 3:
        msg = f"images must both be [H, W, C] of one shape, got {x.shape} and {y.shape}"
        raise ValueError(msg)
    if min(x.shape[:2]) < min_side:
        msg = f"images must be at least {min_side} pixels on each side, got {x.shape[1]}x{x.shape[0]}"
        raise ValueError(msg)
    return x, y


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Single-scale SSIM of two ``[H, W, C]`` images (mean over channels)."""
    x, y = _prepare(a, b, WINDOW)
    return float(_ssim_and_cs(x, y, data_range)[0].mean())


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling; an odd side is zero-padded on both ends first (as torch's avg_pool2d with padding)."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    if ph or pw:
        x = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Five-scale MS-SSIM of two ``[H, W, C]`` images; both sides must exceed 160 pixels."""
    levels = len(MS_SSIM_WEIGHTS)
    x, y = _prepare(a, b, (WINDOW - 1) * 2 ** (levels - 1) + 1)
    factors = []
    for level in range(levels):
        ssim_c, cs_c = _ssim_and_cs(x, y, data_range)
        if level < levels - 1:
            factors.append(np.maximum(cs_c, 0.0))
            x, y = _avg_pool2(x), _avg_pool2(y)
    factors.append(np.maximum(ssim_c, 0.0))
    per_channel = np.prod(np.stack(factors) ** MS_SSIM_WEIGHTS[:, None], axis=0)
    return float(per_channel.mean())


def _filter_valid_adjoint(grad: np.ndarray, height: int, width: int) -> np.ndarray:
    """Adjoint of ``_filter_valid``: spread a valid-size map back over the full ``[H, W, C]`` image."""
    half = WINDOW // 2
    full = np.zeros((height, width, grad.shape[2]))
    full[half : height - half, half : width - half] = grad
    win = _window()  # symmetric, so correlating with it is its own adjoint
    return correlate1d(correlate1d(full, win, axis=0, mode="constant"), win, axis=1, mode="constant")


def ssim_with_gradient(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> tuple[float, np.ndarray]:
    """SSIM of ``x`` against the reference ``y`` and its gradient with respect to ``x`` (for training)."""
    x64, y64 = _prepare(x, y, WINDOW)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _filter_valid(x64), _filter_valid(y64)
    var_x = _filter_valid(x64 * x64) - mu_x**2
    var_y = _filter_valid(y64 * y64) - mu_y**2
    cov = _filter_valid(x64 * y64) - mu_x * mu_y
    p1, q1 = 2.0 * mu_x * mu_y + c1, mu_x**2 + mu_y**2 + c1
    p2, q2 = 2.0 * cov + c2, var_x + var_y + c2
    a, b = p1 / q1, p2 / q2
    weight = 1.0 / a.size  # d mean / d entry
    g_mu = weight * b * (2.0 * mu_y * q1 - 2.0 * mu_x * p1) / q1**2
    g_var = weight * a * -p2 / q2**2
    g_cov = weight * a * 2.0 / q2
    height, width = x64.shape[:2]
    grad = _filter_valid_adjoint(g_mu - 2.0 * mu_x * g_var - mu_y * g_cov, height, width)
    grad += 2.0 * x64 * _filter_valid_adjoint(g_var, height, width)
    grad += y64 * _filter_valid_adjoint(g_cov, height, width)
    return float((a * b).mean()), grad
