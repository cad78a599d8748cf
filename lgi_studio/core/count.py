"""Adaptive Gaussian count from image complexity.

The LGI design's rule: ``count = pixels * density * (1 + entropy_factor * entropy)``. Our ``entropy`` is the
Shannon entropy, in bits per sample, of the picture's prediction residual: each 8-bit channel value minus
the median-edge (LOCO-I / JPEG-LS) prediction from its left, upper and upper-left neighbours. It is about
what a lossless coder would spend per sample, so it rises with real detail: 0 for a flat colour, under a bit
for a smooth gradient, 3-5 for photographs, about 8 for noise. (Histogram entropy would call a smooth
gradient as complex as a photo.) The constants are calibrated in docs/adaptive-count.md, which also shows
the rule's limit: the count a photo needs varies ~100x across Kodak while this entropy varies 1.6x.
"""

from __future__ import annotations

import numpy as np

DENSITY = 4.0e-4
"""Gaussians per pixel for a flat picture: 157 for a 768x512 Kodak frame."""

ENTROPY_FACTOR = 8.6
"""Growth of the count per bit of residual entropy: calibrated so the count reaches 30 dB with the ``fast``
preset on Kodak (log least squares over 8 pictures, docs/adaptive-count.md)."""

MIN_COUNT = 16
MAX_COUNT = 200_000


def residual_entropy(image: np.ndarray) -> float:
    """Mean over RGB of the entropy (bits) of the median-edge prediction residual of the 8-bit picture."""
    x = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.int32)
    a = np.zeros_like(x)
    b = np.zeros_like(x)
    c = np.zeros_like(x)
    a[:, 1:] = x[:, :-1]
    b[1:, :] = x[:-1, :]
    c[1:, 1:] = x[:-1, :-1]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    prediction = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
    residual = x - prediction
    bits = []
    for ch in range(x.shape[2]):
        counts = np.bincount((residual[:, :, ch] + 255).ravel(), minlength=511)
        p = counts[counts > 0] / counts.sum()
        bits.append(float(-(p * np.log2(p)).sum()))
    return float(np.mean(bits))


def adaptive_count(image: np.ndarray, density: float = DENSITY, entropy_factor: float = ENTROPY_FACTOR) -> int:
    """The Gaussian count the rule picks for ``image`` (``[H, W, 3]`` float in [0, 1])."""
    pixels = image.shape[0] * image.shape[1]
    count = pixels * density * (1.0 + entropy_factor * residual_entropy(image))
    return int(np.clip(round(count), MIN_COUNT, min(MAX_COUNT, pixels)))
