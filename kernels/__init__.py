"""LGI Studio's Taichi rasterization kernels, installed as ``lgi_kernels``.

The folder is called ``kernels/`` in the repository but the import name ``kernels`` belongs to another
PyPI package, so pyproject.toml maps it to ``lgi_kernels``. Importing this package imports Taichi but does
not start it: ``ensure_backend`` (called by the first launch) does.
"""

import os

# Taichi prints a banner on import and an "arch=" line on start; a CLI's output is for its user.
os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "0")
os.environ.setdefault("TI_LOG_LEVEL", "warn")

from .backend import BackendError, BackendInfo, active_backend, ensure_backend, prepare_cache_folders

prepare_cache_folders()  # before Taichi's import, which aborts the process when HOME is unset

from .gradients import Gradients  # noqa: E402 - Taichi is imported from here on
from .rasterize import (  # noqa: E402
    RasterContext,
    rasterize_backward,
    rasterize_backward_colours,
    rasterize_forward,
    rasterize_forward_colours,
    rasterize_forward_l2,
)
from .settings import RasterSettings, RenderMode, Viewport, floor_for_zoom  # noqa: E402

__all__ = [
    "BackendError",
    "BackendInfo",
    "Gradients",
    "RasterContext",
    "RasterSettings",
    "RenderMode",
    "Viewport",
    "active_backend",
    "ensure_backend",
    "floor_for_zoom",
    "prepare_cache_folders",
    "rasterize_backward",
    "rasterize_backward_colours",
    "rasterize_forward",
    "rasterize_forward_colours",
    "rasterize_forward_l2",
]
