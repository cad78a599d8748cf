"""Quantization steps that follow the operating point, for ``lgi-sq``.

Fixed steps suit one operating point only. A few big Gaussians (low count) tolerate coarse positions, and
a fit that still misses the picture by a lot gains nothing from colours finer than its own error; many small
Gaussians close to the picture need finer ones. Calibrated on the rate-distortion benchmark's own fits
(kodim07 at six counts and kodim06 at N=7000, 5000 iterations; docs/quantization.md): against the fixed
steps, at the same rate, +1.2 dB at N=700, +0.6 dB at N=2000, +0.1-0.2 dB at N=4500-7000. The position
step follows the spacing of the Gaussians, the colour step the fit's residual times that spacing, and sizes
and angles are coarser than the fixed defaults at every count measured. All of it is recorded in the file
(header and colour model): decoders need no rule.
"""

from __future__ import annotations

import math

from .schemes import LgiSteps, Scheme, get_scheme, with_steps

STEP_RULES = ("auto", "fixed")
"""``auto``: the rule below; ``fixed``: ``LgiSteps()`` and ``lgi-sq``'s default colour step everywhere."""

SPACING_PER_POSITION_STEP = 45.0
"""Mean spacing of the Gaussians (px) over the position step (px): a quarter pixel at N=3000 on 768x512."""

COLOUR_STEP_PER_RMS_PX = 0.8
"""Colour step (in ``lgi-sq``'s footprint-scaled units) per unit of the float fit's RMS residual times the
Gaussians' mean spacing in pixels."""

MAX_POSITION_CELLS = 16
COLOUR_STEP_RANGE = (0.04, 4.0)
"""Bounds only: the rule gave 0.09-2.0 on kodim06-08; kodim08 at N=700 measured best at its 2.0 (1.0: -0.3 dB)."""

LOG2_SIZE_STEP = 1.0 / 8.0
"""Size step in octaves: 1/8 beat 1/16, 1/12 and 1/10 at every count measured (1/6 about equal, 1/4 worse)."""

ANGLE_PER_ASPECT = 48.0
"""Angle levels per unit of elongation: 32-64 were within 0.04 dB of each other; 48 is their middle."""


def spacing_px(count: int, width: int, height: int) -> float:
    """Mean distance between neighbouring Gaussians spread evenly over the picture, in pixels."""
    return math.sqrt(width * height / max(count, 1))


def position_step(count: int, width: int, height: int) -> float:
    """Position step in pixels (1/k, as the header stores it) for ``count`` Gaussians on the picture."""
    cells = round(SPACING_PER_POSITION_STEP / spacing_px(count, width, height))
    return 1.0 / min(max(cells, 1), MAX_POSITION_CELLS)


def colour_step(residual_rms: float, count: int, width: int, height: int) -> float:
    """``lgi-sq``'s colour step for ``count`` Gaussians whose render misses the picture by ``residual_rms``
    (RGB in [0, 1]). Equal rate-distortion slopes for the colours and the curve itself give a step that grows
    with the residual and with the bits a Gaussian may spend per pixel it covers."""
    low, high = COLOUR_STEP_RANGE
    return float(min(max(COLOUR_STEP_PER_RMS_PX * residual_rms * spacing_px(count, width, height), low), high))


def operating_steps(count: int, width: int, height: int) -> LgiSteps:
    """The lgi family's steps for ``count`` Gaussians on a ``width`` x ``height`` picture."""
    return LgiSteps(
        position_px=position_step(count, width, height), log2_size=LOG2_SIZE_STEP, angle_per_aspect=ANGLE_PER_ASPECT
    )


def encoder_scheme(name: str, rule: str, count: int, native_size: tuple[int, int]) -> Scheme:
    """The scheme an encoder quantizes ``count`` Gaussians with: under the ``auto`` rule, ``lgi-sq`` with the
    operating point's steps (its colour step is chosen after the refit, from the residual)."""
    if rule == "auto" and name == "lgi-sq" and count > 0:
        return with_steps(name, operating_steps(count, *native_size))
    return get_scheme(name)
