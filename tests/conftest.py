"""Session-wide setup: Taichi on the CPU backend, Qt offscreen, seeded data helpers."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def cpu_backend():
    """Every test runs the kernels on the CPU backend, started once."""
    from lgi_kernels import ensure_backend

    return ensure_backend("cpu")


def random_gaussians(n: int, seed: int, spread: float = 0.1, size: tuple[float, float] = (0.03, 0.15)):
    """Seeded Gaussians around the image, some partly outside it, with mixed sizes and orientations."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-spread, 1.0 + spread, (n, 2))
    chol = np.stack([rng.uniform(*size, n), rng.uniform(-0.05, 0.05, n), rng.uniform(*size, n)], axis=1)
    colors = rng.uniform(-0.5, 1.2, (n, 3))
    opacities = rng.uniform(0.2, 1.0, n)
    return tuple(x.astype(np.float32) for x in (means, chol, colors, opacities))
