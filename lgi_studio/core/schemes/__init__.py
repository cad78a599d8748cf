"""Quantization schemes: how a Gaussian set becomes integers and bytes, and back.

Every scheme has three steps. ``train`` fits its quantizers (codebooks, ranges) to a Gaussian set;
``quantize``/``dequantize`` map Gaussians to integer symbols and back (the only lossy step, and what
quantization-aware training renders each iteration); ``pack``/``unpack`` entropy-code the symbols and the
quantizers' side information losslessly. Hence ``unpack(pack(s))`` dequantizes to exactly
``dequantize(quantize(g))``, and the payload size is the real rate.

Schemes (one module each): ``float32``, ``vq``, ``gaussianimage``, ``lgi``, ``lgi-sq`` (the default;
``lgi_sq``); ``lookup`` builds them by name from ``core.registry``.
"""

from __future__ import annotations

from ..scheme_names import SCHEMES
from .base import CodebookUse, Quantized, Scheme, SchemeError
from .float32 import Float32Scheme
from .gaussianimage import GaussianImageScheme
from .lgi import LgiScheme, LgiSteps
from .lgi_sq import LgiScalarColourScheme
from .lookup import get_scheme, scheme_of, with_steps
from .vq import VQScheme

__all__ = [
    "SCHEMES",
    "CodebookUse",
    "Float32Scheme",
    "GaussianImageScheme",
    "LgiScalarColourScheme",
    "LgiScheme",
    "LgiSteps",
    "Quantized",
    "Scheme",
    "SchemeError",
    "VQScheme",
    "get_scheme",
    "scheme_of",
    "with_steps",
]
