"""``float32``: a lossless archive of the float parameters."""

from __future__ import annotations

import numpy as np

from lgi_kernels import RenderMode

from .base import Quantized, Scheme, SchemeError, as_vector, from_vector


class Float32Scheme(Scheme):
    """Lossless: the float32 parameters as they are."""

    name = "float32"

    def quantize(self, g, mode, state):
        return Quantized(self.name, len(g), g.native_size, mode, {"raw": as_vector(g, mode)}, state)

    def dequantize(self, q):
        return from_vector(q.symbols["raw"], q.mode, q.native_size)

    def pack(self, q):
        return np.ascontiguousarray(q.symbols["raw"], "<f4").tobytes()

    def unpack(self, payload, n, native_size, mode):
        cols = 9 if mode is RenderMode.ALPHA else 8
        if len(payload) != 4 * n * cols:
            msg = f"float32 payload has {len(payload)} bytes, expected {4 * n * cols}"
            raise SchemeError(msg)
        raw = np.frombuffer(payload, "<f4").reshape(n, cols).astype(np.float32)
        return Quantized(self.name, n, native_size, mode, {"raw": raw})
