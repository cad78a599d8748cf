"""The gradient bundle both the kernels and the reference return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gradients:
    """dLoss/dparameter for every Gaussian parameter, same shapes as the inputs."""

    v_means: np.ndarray  # [N, 2]
    v_chol: np.ndarray  # [N, 3]
    v_colors: np.ndarray  # [N, 3]
    v_opacities: np.ndarray  # [N]
