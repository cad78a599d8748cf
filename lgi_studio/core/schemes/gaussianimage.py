"""``gaussianimage``: the ECCV'24 recipe: positions float16, Cholesky 6-bit scalar quantization with fitted
ranges, colour residual VQ 2 stages x 8 entries: 56 bits per Gaussian, stored as exact bits."""

from __future__ import annotations

import numpy as np

from lgi_kernels import RenderMode

from ..entropy import decode_uniform, encode_uniform
from ..model import Gaussians
from ..quantize import ResidualVectorQuantizer, ScalarQuantizer
from .base import (
    OPACITY_LEVELS,
    Quantized,
    Scheme,
    SchemeError,
    check_counts,
    colour_codebooks,
    dequantize_opacity,
    pack_floats,
    quantize_opacity,
    snap16,
    unpack_colour_stages,
    unpack_floats,
)


class GaussianImageScheme(Scheme):
    """GaussianImage (ECCV'24): float16 positions, 6-bit Cholesky, colour RVQ 2 x 8 entries; exact bits."""

    name = "gaussianimage"
    CHOL_BITS = 6
    COLOR_STAGES = (8, 8)

    def train(self, g, mode, codebook_size, seed=0, previous=None):
        sizes = [min(s, len(g)) for s in self.COLOR_STAGES]
        init = previous.state["color"] if previous is not None and previous.scheme == self.name else None
        rvq = ResidualVectorQuantizer.train(g.colors, sizes, seed=seed, init=init)
        for stage in rvq.stages:
            stage.codebook = snap16(stage.codebook)
        chol = ScalarQuantizer.fit(g.chol, self.CHOL_BITS)
        lo, hi = snap16(chol.lo), snap16(chol.hi)
        # a constant column (one Gaussian, a 1x1 picture) has no range: one float16 step keeps the step nonzero
        hi = np.where(hi > lo, hi, np.nextafter(lo.astype(np.float16), np.float16(np.inf)).astype(np.float32))
        chol = ScalarQuantizer(lo, hi, chol.bits)
        return {"color": rvq, "chol": chol}

    def quantize(self, g, mode, state):
        symbols = {
            "means": snap16(g.means),
            "chol": state["chol"].quantize(g.chol),
            "color": state["color"].quantize(g.colors),
        }
        if mode is RenderMode.ALPHA:
            symbols["opacity"] = quantize_opacity(g.opacities)
        return Quantized(self.name, len(g), g.native_size, mode, symbols, state)

    def dequantize(self, q):
        s = q.symbols
        return Gaussians(
            s["means"],
            q.state["chol"].dequantize(s["chol"]),
            q.state["color"].dequantize(s["color"]),
            dequantize_opacity(q),
            q.native_size,
        )

    def codebooks(self, q):
        return colour_codebooks(q)

    def pack(self, q):
        out = bytearray()
        chol = q.state["chol"]
        pack_floats(np.concatenate([chol.lo, chol.hi]), out)
        for stage in q.state["color"].stages:
            pack_floats(stage.codebook, out)
        out += np.ascontiguousarray(q.symbols["means"], "<f2").tobytes()
        out += encode_uniform(q.symbols["chol"], 2**self.CHOL_BITS)
        for k, stage in enumerate(q.state["color"].stages):
            out += encode_uniform(q.symbols["color"][:, k], max(2, stage.size))
        if q.mode is RenderMode.ALPHA:
            out += encode_uniform(q.symbols["opacity"], OPACITY_LEVELS)
        return bytes(out)

    def unpack(self, payload, n, native_size, mode):
        ranges, pos = unpack_floats(payload, 0)
        if len(ranges) != 6:
            msg = "gaussianimage Cholesky ranges are malformed"
            raise SchemeError(msg)
        stages, pos = unpack_colour_stages(payload, pos, len(self.COLOR_STAGES), self.name)
        end = pos + 4 * n
        if end > len(payload):
            msg = "gaussianimage positions are truncated"
            raise SchemeError(msg)
        means = np.frombuffer(payload[pos:end], "<f2").reshape(n, 2).astype(np.float32)
        if not np.isfinite(means).all():
            msg = "gaussianimage positions hold NaN or infinity"
            raise SchemeError(msg)
        chol, pos = decode_uniform(payload, end, 3 * n, 2**self.CHOL_BITS)
        colors = []
        for stage in stages:
            idx, pos = decode_uniform(payload, pos, n, max(2, stage.size))
            colors.append(idx)
        symbols = {"means": means, "chol": chol.reshape(-1, 3), "color": np.stack(colors, axis=1)}
        if mode is RenderMode.ALPHA:
            symbols["opacity"], pos = decode_uniform(payload, pos, n, OPACITY_LEVELS)
        check_counts(symbols, n, pos, len(payload), [s.size for s in stages], self.name)
        state = {
            "chol": ScalarQuantizer(ranges[:3], ranges[3:], self.CHOL_BITS),
            "color": ResidualVectorQuantizer(stages),
        }
        return Quantized(self.name, n, native_size, mode, symbols, state)
