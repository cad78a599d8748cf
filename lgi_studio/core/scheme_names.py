"""The quantization schemes' names, importable without numpy-heavy or kernel imports (the GUI lists them).

Derived from ``core.registry``, the one table of schemes. ``lgi-sq`` comes first, the default: our best
rate-distortion (docs/rate-distortion.md); ``lgi`` is the same with a colour codebook. Only ``lgi`` and
``vq`` have a sized codebook.
"""

from .registry import DEFAULT_SCHEME, SCHEMES, SIZED_CODEBOOK

__all__ = ["DEFAULT_SCHEME", "SCHEMES", "SIZED_CODEBOOK"]
