"""Names the GUI lists (quantization schemes, presets, render modes), importable without numpy-heavy or kernel
imports: the GUI process never imports Taichi.

Derived from ``core.registry``, the one table of schemes. ``lgi-sq`` comes first, the default: our best
rate-distortion (docs/rate-distortion.md); ``lgi`` is the same with a colour codebook. Only ``lgi`` and
``vq`` have a sized codebook.
"""

from .registry import DEFAULT_SCHEME, SCHEMES, SIZED_CODEBOOK

__all__ = ["DEFAULT_SCHEME", "PRESETS", "RENDER_MODES", "SCHEMES", "SIZED_CODEBOOK"]

PRESETS = {"fast": 500, "balanced": 2000, "high": 5000, "ultra": 10000}
"""Iteration budgets per preset (the original LGI encoder's)."""
RENDER_MODES = ("sum", "alpha")
"""``lgi_kernels.RenderMode``'s values (a test keeps them equal): accumulated summation, alpha compositing."""
