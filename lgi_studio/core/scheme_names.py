"""The quantization schemes' names, importable without numpy-heavy or kernel imports (the GUI lists them)."""

SCHEMES = ("lgi-sq", "lgi", "gaussianimage", "vq", "float32")
DEFAULT_SCHEME = "lgi-sq"
"""Our best rate-distortion (docs/rate-distortion.md); ``lgi`` is the same with a colour codebook."""
SIZED_CODEBOOK = frozenset({"lgi", "gaussianimage", "vq"})
"""Schemes whose codebook size means something (the GUI's codebook box and slider)."""
