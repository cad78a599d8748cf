"""Quantization steps that follow the operating point, for ``lgi-sq``.

Fixed steps suit one operating point only. A few big Gaussians (low count) tolerate coarse positions, and
a fit that still misses the picture by a lot gains nothing from colours finer than its own error; many small
Gaussians close to the picture need the opposite. Measured on the rate-distortion benchmark's own fits
(5000 iterations, docs/quantization.md): at N=700 coarser steps bought +0.5 dB at the same rate, at N=7000
finer ones +0.1-0.3 dB. So the position step follows the spacing of the Gaussians and the colour step the
fit's residual. Both are recorded in the file (header and colour model): decoders need no rule.
"""

from __future__ import annotations

import math

from .schemes import LgiSteps

STEP_RULES = ("auto", "fixed")
"""``auto``: the rule below; ``fixed``: ``LgiSteps()`` and ``lgi-sq``'s default colour step everywhere."""

SPACING_PER_POSITION_STEP = 45.0
"""Mean spacing of the Gaussians (px) over the position step (px): a quarter pixel at N=3000 on 768x512."""

COLOUR_STEP_PER_RMS = 7.0
"""Colour step (in ``lgi-sq``'s footprint-scaled units) per unit of the float fit's RMS residual."""

MAX_POSITION_CELLS = 16
COLOUR_STEP_RANGE = (0.04, 1.0)


def position_step(count: int, width: int, height: int) -> float:
    """Position step in pixels (1/k, as the header stores it) for ``count`` Gaussians on the picture."""
    spacing = math.sqrt(width * height / max(count, 1))
    return 1.0 / min(max(round(SPACING_PER_POSITION_STEP / spacing), 1), MAX_POSITION_CELLS)


def colour_step(residual_rms: float) -> float:
    """``lgi-sq``'s colour step for a fit whose render misses the picture by ``residual_rms`` (RGB in [0, 1])."""
    low, high = COLOUR_STEP_RANGE
    return float(min(max(COLOUR_STEP_PER_RMS * residual_rms, low), high))


def operating_steps(count: int, width: int, height: int) -> LgiSteps:
    """The lgi family's steps (positions by the rule; sizes and angles at their defaults)."""
    return LgiSteps(position_px=position_step(count, width, height))
