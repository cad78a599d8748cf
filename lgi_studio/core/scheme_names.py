"""Names the GUI lists (quantization schemes, presets, render modes), importable without numpy-heavy or kernel
imports: the GUI process never imports Taichi."""

SCHEMES = ("lgi-sq", "lgi", "gaussianimage", "vq", "float32")
DEFAULT_SCHEME = "lgi-sq"
"""Our best rate-distortion (docs/rate-distortion.md); ``lgi`` is the same with a colour codebook."""
SIZED_CODEBOOK = frozenset({"lgi", "gaussianimage", "vq"})
"""Schemes whose codebook size means something (the GUI's codebook box and slider)."""

PRESETS = {"fast": 500, "balanced": 2000, "high": 5000, "ultra": 10000}
"""Iteration budgets per preset (the original LGI encoder's)."""
RENDER_MODES = ("sum", "alpha")
"""``lgi_kernels.RenderMode``'s values (a test keeps them equal): accumulated summation, alpha compositing."""
