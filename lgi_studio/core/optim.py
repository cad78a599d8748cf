"""Adam over the Gaussian parameters, with per-parameter step sizes and a cosine decay.

Step sizes are given in pixels (means, Cholesky factors) and converted to normalized units per axis, so the
same numbers suit any picture size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lgi_kernels import Gradients

from .model import PARAMETERS, Gaussians


@dataclass(frozen=True)
class StepSizes:
    """Adam step sizes at the start of a fit: Adam moves each parameter by about this much per step.

    Chosen on 300-iteration fits of kodim03/kodim08 at N=10k (docs/encoder.md): Gaussians start small and
    must be free to grow, so the Cholesky step is the largest. Then raised 1.5x with coarse-to-fine
    (``core.schedule``): on kodim23 at N=3000, 2000 iterations, the file came out 0.09 dB lower at 4.4%
    fewer bytes, about 0.04 dB better at equal bytes (docs/encoder.md).
    """

    means_px: float = 0.45
    chol_px: float = 0.6
    colors: float = 0.03
    opacities: float = 0.02

    def per_parameter(self, width: int, height: int) -> dict[str, np.ndarray]:
        return {
            "means": np.array([self.means_px / width, self.means_px / height], np.float32),
            "chol": np.array([self.chol_px / width, self.chol_px / height, self.chol_px / height], np.float32),
            "colors": np.float32(self.colors),
            "opacities": np.float32(self.opacities),
        }


def cosine_decay(progress: float, final_fraction: float) -> float:
    """1 at the start of a fit, ``final_fraction`` at its end, along a half cosine."""
    progress = min(max(progress, 0.0), 1.0)
    return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Adam:
    """Adam (Kingma & Ba) with bias correction; the state follows the Gaussians through prune/densify."""

    def __init__(self, steps: dict[str, np.ndarray], n: int, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.steps = steps
        self.beta1, self.beta2 = betas
        self.eps = 1e-15
        self.t = 0
        self.m = {p: np.zeros(self._shape(p, n), np.float32) for p in PARAMETERS}
        self.v = {p: np.zeros(self._shape(p, n), np.float32) for p in PARAMETERS}

    @staticmethod
    def _shape(name: str, n: int) -> tuple[int, ...]:
        return {"means": (n, 2), "chol": (n, 3), "colors": (n, 3), "opacities": (n,)}[name]

    def step(self, gaussians: Gaussians, grads: Gradients, scale: float = 1.0, frozen: tuple[str, ...] = ()) -> None:
        """Update ``gaussians`` in place; ``scale`` multiplies every step size (the schedule)."""
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for name in PARAMETERS:
            if name in frozen:
                continue
            g = getattr(grads, f"v_{name}")
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            update = (scale * self.steps[name] / c1) * m / (np.sqrt(v / c2) + self.eps)
            setattr(gaussians, name, (getattr(gaussians, name) - update).astype(np.float32))

    def restart(self) -> None:
        """Forget the moments and the step count (the gradients' scale changed, e.g. a new resolution)."""
        self.t = 0
        for state in (self.m, self.v):
            for value in state.values():
                value.fill(0.0)

    def keep(self, index: np.ndarray) -> None:
        """Follow a prune: keep the state of the selected Gaussians only."""
        for state in (self.m, self.v):
            for name in PARAMETERS:
                state[name] = state[name][index]

    def grow(self, added: int) -> None:
        """Follow a densification: new Gaussians start with empty moments."""
        for state in (self.m, self.v):
            for name in PARAMETERS:
                state[name] = np.concatenate([state[name], np.zeros(self._shape(name, added), np.float32)])
