"""LGI Studio: pictures as a few thousand coloured 2D Gaussians.

Importing this package starts neither Taichi nor Qt: ``encode``, ``decode`` and ``read_info`` (docs/api.md)
load the codec the first time one of them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {"encode": "lgi_studio.codec", "decode": "lgi_studio.codec", "read_info": "lgi_studio.codec"}
__all__ = ["__version__", "decode", "encode", "read_info"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    msg = f"module 'lgi_studio' has no attribute {name!r}"
    raise AttributeError(msg)
