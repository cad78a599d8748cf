"""Adaptive count: simple pictures get few Gaussians, busy ones many, noise the most."""

import numpy as np
import pytest

from lgi_studio.core.count import adaptive_count, residual_entropy

H, W = 512, 768


def flat() -> np.ndarray:
    return np.full((H, W, 3), 0.4, np.float32)


def gradient() -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, W, dtype=np.float32)
    return np.stack([np.tile(ramp, (H, 1)), np.tile(ramp[::-1], (H, 1)), np.full((H, W), 0.5, np.float32)], -1)


def photo_like() -> np.ndarray:
    """Structure at several scales plus mild texture, like a photograph's statistics."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:H, 0:W] / np.float32(W)
    img = 0.5 + 0.2 * np.sin(17 * xx)[..., None] * np.cos(11 * yy)[..., None]
    for _ in range(40):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 0.67), rng.uniform(0.02, 0.1)
        img = np.where(((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None], rng.uniform(0, 1, 3), img)
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)


def noise() -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 1, (H, W, 3)).astype(np.float32)


def test_entropy_of_known_pictures():
    assert residual_entropy(flat()) == pytest.approx(0.0, abs=1e-3)  # only the first pixel is unpredicted
    assert residual_entropy(noise()) > 7.5


def test_counts_order_by_complexity():
    counts = [adaptive_count(f()) for f in (flat, gradient, photo_like, noise)]
    assert counts == sorted(counts)
    assert len(set(counts)) == 4
    assert 100 <= counts[0] <= 200  # flat colour
    assert counts[1] < 600  # smooth gradient: a few hundred at most
    assert counts[2] >= 1000  # a photograph: thousands
    assert counts[3] == max(counts)


def test_count_scales_with_pixels():
    small = adaptive_count(flat()[:256, :384])
    assert small == pytest.approx(adaptive_count(flat()) / 4, rel=0.02)


def test_count_never_exceeds_pixels():
    assert adaptive_count(noise()[:8, :8]) <= 64
