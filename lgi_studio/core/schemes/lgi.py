"""``lgi``: ours (docs/quantization.md): quarter-pixel positions in Morton order, delta- and range-coded;
shapes as log-sizes and an angle whose precision follows the anisotropy; colour k-means codebook with
optional residual stages; every stream range-coded with its own model (``core.entropy``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lgi_kernels import RenderMode

from ..entropy import (
    decode_categorical,
    decode_uniform,
    decode_uniform_sized,
    encode_categorical,
    encode_uniform,
    encode_uniform_sized,
    read_varint,
    write_varint,
)
from ..model import COV_FLOOR_PX2, Gaussians
from ..quantize import ResidualVectorQuantizer, auto_codebook_size
from ..shape import SIGMA_MAX_PX, SIGMA_MIN_PX, chol_to_shape, shape_to_chol
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
)
from .positions import decode_sorted_codes, encode_sorted_codes, morton, unmorton


@dataclass(frozen=True)
class LgiSteps:
    """Quantization steps of the ``lgi`` scheme (recorded in each file's header)."""

    position_px: float = 0.25
    log2_size: float = 1.0 / 16.0
    angle_per_aspect: float = 64.0
    max_angle_levels: int = 1024
    color_stages: int = 1


class LgiScheme(Scheme):
    """Our scheme: see the module docstring and docs/quantization.md."""

    name = "lgi"
    MARGIN = 0.05  # means may lie this far outside the frame (normalized), as the fit allows

    def __init__(self, steps: LgiSteps | None = None) -> None:
        self.steps = steps or LgiSteps()

    # positions ----------------------------------------------------------------------------------------
    def _grid(self, native_size: tuple[int, int]) -> tuple[float, float, int, int]:
        """Grid cells per normalized unit along x and y, and the grid's extent in cells."""
        width, height = native_size
        cx, cy = width / self.steps.position_px, height / self.steps.position_px
        return cx, cy, int(np.ceil(cx * (1 + 2 * self.MARGIN))) + 1, int(np.ceil(cy * (1 + 2 * self.MARGIN))) + 1

    def _position_codes(self, means: np.ndarray, native_size: tuple[int, int]) -> np.ndarray:
        cx, cy, nx, ny = self._grid(native_size)
        x = np.clip(np.round((means[:, 0] + self.MARGIN) * cx), 0, nx - 1)
        y = np.clip(np.round((means[:, 1] + self.MARGIN) * cy), 0, ny - 1)
        return np.stack([x, y], axis=1).astype(np.int32)

    def _positions(self, codes: np.ndarray, native_size: tuple[int, int]) -> np.ndarray:
        cx, cy, _, _ = self._grid(native_size)
        return np.stack([codes[:, 0] / cx - self.MARGIN, codes[:, 1] / cy - self.MARGIN], axis=1).astype(np.float32)

    # shapes -------------------------------------------------------------------------------------------
    def _size_levels(self) -> int:
        return round((math.log2(SIGMA_MAX_PX) - math.log2(SIGMA_MIN_PX)) / self.steps.log2_size) + 1

    def _sigmas(self, major_code: np.ndarray, ratio_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded major and minor sigmas in native pixels."""
        major = 2.0 ** (np.log2(SIGMA_MIN_PX) + major_code * self.steps.log2_size)
        return major, major * 2.0 ** (-ratio_code * self.steps.log2_size)

    def _angle_levels(self, major_code: np.ndarray, ratio_code: np.ndarray) -> np.ndarray:
        """Angle levels per Gaussian from its (already quantized) elongation: a rotation by one step moves the
        tip of the major axis by a fixed fraction of the minor sigma, so round Gaussians need no angle and
        needles need many."""
        major, minor = self._sigmas(major_code, ratio_code)
        # the render adds the covariance floor, so a needle is never thinner than sqrt(floor)
        aspect = np.sqrt((major**2 + COV_FLOOR_PX2) / (minor**2 + COV_FLOOR_PX2))
        levels = np.round(self.steps.angle_per_aspect * (aspect - 1.0))
        return np.clip(levels, 1, self.steps.max_angle_levels).astype(np.int32)

    def _shape_codes(self, chol: np.ndarray, native_size: tuple[int, int]) -> dict[str, np.ndarray]:
        major, minor, angle = chol_to_shape(chol, *native_size)
        lo = np.log2(SIGMA_MIN_PX)
        top = self._size_levels() - 1
        major_code = np.clip(np.round((np.log2(major) - lo) / self.steps.log2_size), 0, top).astype(np.int32)
        ratio_code = np.clip(np.round(np.log2(major / minor) / self.steps.log2_size), 0, major_code).astype(np.int32)
        levels = self._angle_levels(major_code, ratio_code)
        angle_code = np.mod(np.round(angle / np.pi * levels), levels).astype(np.int32)
        return {"size": major_code, "ratio": ratio_code, "angle": angle_code}

    def _chol(self, s: dict[str, np.ndarray], native_size: tuple[int, int]) -> np.ndarray:
        major, minor = self._sigmas(s["size"], s["ratio"])
        levels = self._angle_levels(s["size"], s["ratio"])
        return shape_to_chol(major, minor, s["angle"] * np.pi / levels, *native_size)

    def snap_geometry(self, g: Gaussians, shapes: bool = True) -> Gaussians:
        """``g`` with its positions (and shapes) quantized and dequantized, colours untouched: what staged
        quantization-aware training holds fixed (``core.fit``)."""
        chol = self._chol(self._shape_codes(g.chol, g.native_size), g.native_size) if shapes else g.chol
        means = self._positions(self._position_codes(g.means, g.native_size), g.native_size)
        return Gaussians(means, chol.astype(np.float32), g.colors, g.opacities, g.native_size)

    # colours: a k-means codebook with residual stages (the lgi-sq scheme overrides these) -----------------
    def _train_colour(self, g: Gaussians, codebook_size: int | None, seed: int, previous: Quantized | None) -> dict:
        size = min(codebook_size or auto_codebook_size(len(g)), len(g))
        init = previous.state["color"] if previous is not None and previous.scheme == self.name else None
        rvq = ResidualVectorQuantizer.train(g.colors, [size] * self.steps.color_stages, seed=seed, init=init)
        for stage in rvq.stages:
            stage.codebook = snap16(stage.codebook)
        return {"color": rvq}

    def _colour_symbols(self, g: Gaussians, state: dict, shape: dict[str, np.ndarray]) -> np.ndarray:
        return state["color"].quantize(g.colors)

    def _colours(self, s: dict[str, np.ndarray], state: dict) -> np.ndarray:
        return state["color"].dequantize(s["color"])

    def _pack_colour_model(self, state: dict, out: bytearray) -> None:
        write_varint(len(state["color"].stages), out)
        for stage in state["color"].stages:
            pack_floats(stage.codebook, out)

    def _unpack_colour_model(self, payload: bytes, pos: int) -> tuple[dict, int]:
        n_stages, pos = read_varint(payload, 0)
        if not 1 <= n_stages <= 8:
            msg = f"lgi payload claims {n_stages} colour stages"
            raise SchemeError(msg)
        stages, pos = unpack_colour_stages(payload, pos, n_stages, self.name)
        return {"color": ResidualVectorQuantizer(stages)}, pos

    def _colour_alphabets(self, state: dict) -> list[int]:
        """Index range of each colour column, checked on decode (empty: not an index)."""
        return [stage.size for stage in state["color"].stages]

    # scheme interface ---------------------------------------------------------------------------------
    def train(self, g, mode, codebook_size, seed=0, previous=None):
        return {"steps": self.steps, **self._train_colour(g, codebook_size, seed, previous)}

    def quantize(self, g, mode, state):
        symbols = {"position": self._position_codes(g.means, g.native_size), **self._shape_codes(g.chol, g.native_size)}
        symbols["color"] = self._colour_symbols(g, state, symbols)
        if mode is RenderMode.ALPHA:
            symbols["opacity"] = quantize_opacity(g.opacities)
        return Quantized(self.name, len(g), g.native_size, mode, symbols, state)

    def dequantize(self, q):
        s = q.symbols
        return Gaussians(
            self._positions(s["position"], q.native_size),
            self._chol(s, q.native_size),
            self._colours(s, q.state),
            dequantize_opacity(q),
            q.native_size,
        )

    def codebooks(self, q):
        return colour_codebooks(q)

    def pack(self, q):
        return b"".join(self.pack_parts(q).values())

    def pack_parts(self, q: Quantized) -> dict[str, bytes]:
        """The payload in its parts, in order (``lgi info`` reports their sizes: where the bits go)."""
        s = dict(q.symbols)
        model = bytearray()
        self._pack_colour_model(q.state, model)
        parts = {"colour model": bytes(model)}
        if q.mode is RenderMode.ACCUMULATED_SUM and q.n:
            # the sum is order-free: store in Morton order, where positions delta-code well
            codes = morton(s["position"][:, 0], s["position"][:, 1])
            order = np.argsort(codes, kind="stable")
            s = {k: v[order] for k, v in s.items()}
            parts["positions"] = encode_sorted_codes(codes[order])
        else:
            _, _, nx, ny = self._grid(q.native_size)
            parts["positions"] = encode_uniform(s["position"][:, 0], nx) + encode_uniform(s["position"][:, 1], ny)
        parts["sizes"] = encode_categorical(s["size"]) + encode_categorical(s["ratio"])
        parts["angles"] = _encode_angles(s["angle"], self._angle_levels(s["size"], s["ratio"]))
        parts["colours"] = b"".join(encode_categorical(s["color"][:, k]) for k in range(s["color"].shape[1]))
        if q.mode is RenderMode.ALPHA:
            parts["opacities"] = encode_categorical(s["opacity"])
        return parts

    def unpack(self, payload, n, native_size, mode):
        state, pos = self._unpack_colour_model(payload, 0)
        state["steps"] = self.steps
        alphabets = self._colour_alphabets(state)
        _, _, nx, ny = self._grid(native_size)
        if mode is RenderMode.ACCUMULATED_SUM:
            codes, pos = decode_sorted_codes(payload, pos, n)
            x, y = unmorton(codes)
            if len(x) and (x.max() >= nx or y.max() >= ny):
                msg = "lgi position outside the picture's grid"
                raise SchemeError(msg)
            position = np.stack([x, y], axis=1).astype(np.int32)
        else:
            # the sizes must be the grid's: positions off it would not re-encode (``lgi info`` re-encodes)
            x, pos = decode_uniform(payload, pos, n, nx)
            y, pos = decode_uniform(payload, pos, n, ny)
            position = np.stack([x, y], axis=1)
        size, pos = decode_categorical(payload, pos, n)
        ratio, pos = decode_categorical(payload, pos, n)
        if len(size) != n or len(ratio) != n or (n and (size.max() >= self._size_levels() or np.any(ratio > size))):
            msg = "lgi shape streams are malformed"
            raise SchemeError(msg)
        angle, pos = _decode_angles(payload, pos, self._angle_levels(size, ratio))
        colors = []
        for _ in alphabets:
            idx, pos = decode_categorical(payload, pos, n)
            colors.append(idx)
        symbols = {"position": position, "size": size, "ratio": ratio, "angle": angle, "color": np.stack(colors, 1)}
        if mode is RenderMode.ALPHA:
            symbols["opacity"], pos = decode_categorical(payload, pos, n)
            if n and symbols["opacity"].max() >= OPACITY_LEVELS:
                msg = "lgi opacity out of range"
                raise SchemeError(msg)
        check_counts(symbols, n, pos, len(payload), alphabets, self.name)
        return Quantized(self.name, n, native_size, mode, symbols, state)


def _encode_angles(angle: np.ndarray, levels: np.ndarray) -> bytes:
    """Angles of anisotropic Gaussians at their own precision (round ones carry none)."""
    coded = levels > 1
    return encode_uniform_sized(angle[coded], levels[coded])


def _decode_angles(data: bytes, pos: int, levels: np.ndarray) -> tuple[np.ndarray, int]:
    coded = levels > 1
    angle = np.zeros(len(levels), np.int32)
    angle[coded], pos = decode_uniform_sized(data, pos, levels[coded])
    return angle, pos
