"""Quantization schemes: how a Gaussian set becomes integers and bytes, and back.

Every scheme has three steps. ``train`` fits its quantizers (codebooks, ranges) to a Gaussian set;
``quantize``/``dequantize`` map Gaussians to integer symbols and back (the only lossy step, and what
quantization-aware training renders each iteration); ``pack``/``unpack`` entropy-code the symbols and the
quantizers' side information losslessly. Hence ``unpack(pack(s))`` dequantizes to exactly
``dequantize(quantize(g))``, and the payload size is the real rate.

Schemes:
- ``float32``: lossless archive of the float parameters.
- ``vq``: one k-means codebook over all (normalized) parameters of a Gaussian: the LGI design's baseline.
- ``gaussianimage``: the ECCV'24 recipe: positions float16, Cholesky 6-bit scalar quantization with fitted
  ranges, colour residual VQ 2 stages x 8 entries: 56 bits per Gaussian, stored as exact bits.
- ``lgi``: ours (docs/quantization.md): quarter-pixel positions in Morton order, delta- and range-coded;
  shapes as log-sizes and an angle whose precision follows the anisotropy; colour k-means codebook with
  optional residual stages; every stream range-coded with its own model (``core.entropy``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lgi_kernels import RenderMode

from .entropy import (
    EntropyError,
    decode_categorical,
    decode_uniform,
    decode_uniform_sized,
    encode_categorical,
    encode_uniform,
    encode_uniform_sized,
    read_varint,
    write_varint,
)
from .model import COV_FLOOR_PX2, Gaussians
from .quantize import ResidualVectorQuantizer, ScalarQuantizer, VectorQuantizer, auto_codebook_size
from .registry import REGISTRY
from .scheme_names import SCHEMES, SIZED_CODEBOOK
from .shape import SIGMA_MAX_PX, SIGMA_MIN_PX, chol_to_shape, shape_to_chol


@dataclass
class Quantized:
    """Integer symbols for N Gaussians, in the Gaussians' order, plus the quantizers that decode them."""

    scheme: str
    n: int
    native_size: tuple[int, int]
    mode: RenderMode
    symbols: dict[str, np.ndarray]
    state: dict = field(default_factory=dict)


class SchemeError(ValueError):
    """Settings a scheme cannot honour, or a payload it cannot decode."""


@dataclass(frozen=True)
class CodebookUse:
    """A codebook that decodes some parameter columns: Gaussian i takes ``book[index[i]]`` there.

    Columns index the per-Gaussian vector (means 0:2, Cholesky 2:5, colour 5:8, opacity 8). QA training
    moves such entries by the summed gradient of their members instead of moving each member.
    """

    book: np.ndarray  # [K, len(columns)], updated in place
    index: np.ndarray  # [N]
    columns: slice


# ----------------------------------------------------------------------------------------------- helpers


def _snap16(x: np.ndarray) -> np.ndarray:
    """Round to float16 and back: what a float16 field stores."""
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def _pack_floats(values: np.ndarray, out: bytearray, dtype: str = "<f2") -> None:
    flat = np.asarray(values, np.float32).ravel()
    write_varint(len(flat), out)
    out += flat.astype(dtype).tobytes()


def _unpack_floats(data: bytes, pos: int, dtype: str = "<f2", limit: int = 1 << 24) -> tuple[np.ndarray, int]:
    n, pos = read_varint(data, pos)
    size = np.dtype(dtype).itemsize
    if n > limit or pos + n * size > len(data):
        msg = "float field is truncated"
        raise EntropyError(msg)
    values = np.frombuffer(data[pos : pos + n * size], dtype=dtype).astype(np.float32)
    if not np.isfinite(values).all():
        msg = "float field holds NaN or infinity"
        raise EntropyError(msg)
    return values, pos + n * size


def _vector(g: Gaussians, mode: RenderMode) -> np.ndarray:
    parts = [g.means, g.chol, g.colors]
    if mode is RenderMode.ALPHA:
        parts.append(g.opacities[:, None])
    return np.concatenate(parts, axis=1)


def _from_vector(v: np.ndarray, mode: RenderMode, native_size: tuple[int, int]) -> Gaussians:
    opacities = v[:, 8] if mode is RenderMode.ALPHA else np.ones(len(v), np.float32)
    return Gaussians(v[:, 0:2], v[:, 2:5], v[:, 5:8], opacities, native_size)


OPACITY_LEVELS = 64
"""Opacity (alpha mode) is a 6-bit scalar in every quantized scheme."""


def _quantize_opacity(opacities: np.ndarray) -> np.ndarray:
    top = OPACITY_LEVELS - 1
    return np.clip(np.round(opacities * top), 0, top).astype(np.int32)


def _dequantize_opacity(q: Quantized) -> np.ndarray:
    """Opacities of ``q`` (all ones in sum mode, which ignores them)."""
    if q.mode is RenderMode.ALPHA:
        return q.symbols["opacity"] / (OPACITY_LEVELS - 1)
    return np.ones(q.n)


def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Interleave the bits of two non-negative int arrays (x in even bits): Z-order codes, int64."""
    code = np.zeros(len(x), np.int64)
    x = x.astype(np.int64)
    y = y.astype(np.int64)
    for bit in range(31):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((y >> bit) & 1) << (2 * bit + 1)
    return code


def _unmorton(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros(len(code), np.int64)
    y = np.zeros(len(code), np.int64)
    for bit in range(31):
        x |= ((code >> (2 * bit)) & 1) << bit
        y |= ((code >> (2 * bit + 1)) & 1) << bit
    return x, y


# ----------------------------------------------------------------------------------------------- schemes


class Scheme:
    """Base: subclasses implement train / quantize / dequantize / pack / unpack."""

    name = ""
    staged_qa = False
    """Quantization-aware training by stages (positions, then shapes, held on their grids while the rest
    trains) instead of straight-through codebook training: ``core.fit`` explains which and why."""

    @property
    def sized_codebook(self) -> bool:
        """Does ``train``'s codebook size mean anything (the GUI's codebook box and slider)?"""
        return self.name in SIZED_CODEBOOK

    def train(
        self,
        g: Gaussians,
        mode: RenderMode,
        codebook_size: int | None,
        seed: int = 0,
        previous: Quantized | None = None,
    ) -> dict:
        return {}

    def quantize(self, g: Gaussians, mode: RenderMode, state: dict) -> Quantized:
        raise NotImplementedError

    def codebooks(self, q: Quantized) -> list[CodebookUse]:
        """The codebooks behind ``q``'s dequantized values (none for pure scalar schemes)."""
        return []

    def snap(self, state: dict) -> None:
        """Round trained codebooks to the precision they are stored at (float16)."""
        for use in state.values():
            for stage in getattr(use, "stages", [use] if isinstance(use, VectorQuantizer) else []):
                stage.codebook = _snap16(stage.codebook)

    def dequantize(self, q: Quantized) -> Gaussians:
        raise NotImplementedError

    def pack(self, q: Quantized) -> bytes:
        raise NotImplementedError

    def unpack(self, payload: bytes, n: int, native_size: tuple[int, int], mode: RenderMode) -> Quantized:
        raise NotImplementedError


class Float32Scheme(Scheme):
    """Lossless: the float32 parameters as they are."""

    name = "float32"

    def quantize(self, g, mode, state):
        return Quantized(self.name, len(g), g.native_size, mode, {"raw": _vector(g, mode)}, state)

    def dequantize(self, q):
        return _from_vector(q.symbols["raw"], q.mode, q.native_size)

    def pack(self, q):
        return np.ascontiguousarray(q.symbols["raw"], "<f4").tobytes()

    def unpack(self, payload, n, native_size, mode):
        cols = 9 if mode is RenderMode.ALPHA else 8
        if len(payload) != 4 * n * cols:
            msg = f"float32 payload has {len(payload)} bytes, expected {4 * n * cols}"
            raise SchemeError(msg)
        raw = np.frombuffer(payload, "<f4").reshape(n, cols).astype(np.float32)
        return Quantized(self.name, n, native_size, mode, {"raw": raw})


class VQScheme(Scheme):
    """One codebook over every parameter of a Gaussian (normalized per dimension)."""

    name = "vq"

    def train(self, g, mode, codebook_size, seed=0, previous=None):
        size = codebook_size or min(auto_codebook_size(len(g)), len(g))  # the automatic size fits any count
        init = previous.state["vq"].codebook if previous is not None and previous.scheme == self.name else None
        vq = VectorQuantizer.train(_vector(g, mode), size, seed=seed, init=init)
        vq.codebook = _snap16(vq.codebook)
        return {"vq": vq}

    def quantize(self, g, mode, state):
        return Quantized(
            self.name, len(g), g.native_size, mode, {"index": state["vq"].quantize(_vector(g, mode))}, state
        )

    def dequantize(self, q):
        return _from_vector(q.state["vq"].dequantize(q.symbols["index"]), q.mode, q.native_size)

    def codebooks(self, q):
        book = q.state["vq"].codebook
        return [CodebookUse(book, q.symbols["index"], slice(0, book.shape[1]))]

    def pack(self, q):
        out = bytearray()
        _pack_floats(q.state["vq"].codebook, out)
        return bytes(out) + encode_categorical(q.symbols["index"])

    def unpack(self, payload, n, native_size, mode):
        cols = 9 if mode is RenderMode.ALPHA else 8
        book, pos = _unpack_floats(payload, 0)
        if len(book) % cols or not len(book):
            msg = "vq codebook has the wrong size"
            raise SchemeError(msg)
        index, pos = decode_categorical(payload, pos, n)
        book = book.reshape(-1, cols)
        if len(index) != n or pos != len(payload) or (len(index) and index.max() >= len(book)):
            msg = "vq indices do not match the header"
            raise SchemeError(msg)
        vq = VectorQuantizer(book, np.zeros(cols, np.float32), np.ones(cols, np.float32))
        return Quantized(self.name, n, native_size, mode, {"index": index}, {"vq": vq})


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
            stage.codebook = _snap16(stage.codebook)
        chol = ScalarQuantizer.fit(g.chol, self.CHOL_BITS)
        lo, hi = _snap16(chol.lo), _snap16(chol.hi)
        # a constant column (one Gaussian, a 1x1 picture) has no range: one float16 step keeps the step nonzero
        hi = np.where(hi > lo, hi, np.nextafter(lo.astype(np.float16), np.float16(np.inf)).astype(np.float32))
        chol = ScalarQuantizer(lo, hi, chol.bits)
        return {"color": rvq, "chol": chol}

    def quantize(self, g, mode, state):
        symbols = {
            "means": _snap16(g.means),
            "chol": state["chol"].quantize(g.chol),
            "color": state["color"].quantize(g.colors),
        }
        if mode is RenderMode.ALPHA:
            symbols["opacity"] = _quantize_opacity(g.opacities)
        return Quantized(self.name, len(g), g.native_size, mode, symbols, state)

    def dequantize(self, q):
        s = q.symbols
        return Gaussians(
            s["means"],
            q.state["chol"].dequantize(s["chol"]),
            q.state["color"].dequantize(s["color"]),
            _dequantize_opacity(q),
            q.native_size,
        )

    def codebooks(self, q):
        return _color_codebooks(q)

    def pack(self, q):
        out = bytearray()
        chol = q.state["chol"]
        _pack_floats(np.concatenate([chol.lo, chol.hi]), out)
        for stage in q.state["color"].stages:
            _pack_floats(stage.codebook, out)
        out += np.ascontiguousarray(q.symbols["means"], "<f2").tobytes()
        out += encode_uniform(q.symbols["chol"], 2**self.CHOL_BITS)
        for k, stage in enumerate(q.state["color"].stages):
            out += encode_uniform(q.symbols["color"][:, k], max(2, stage.size))
        if q.mode is RenderMode.ALPHA:
            out += encode_uniform(q.symbols["opacity"], OPACITY_LEVELS)
        return bytes(out)

    def unpack(self, payload, n, native_size, mode):
        ranges, pos = _unpack_floats(payload, 0)
        if len(ranges) != 6:
            msg = "gaussianimage Cholesky ranges are malformed"
            raise SchemeError(msg)
        stages, pos = _unpack_color_stages(payload, pos, len(self.COLOR_STAGES), self.name)
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
        _check_counts(symbols, n, pos, len(payload), [s.size for s in stages], self.name)
        state = {
            "chol": ScalarQuantizer(ranges[:3], ranges[3:], self.CHOL_BITS),
            "color": ResidualVectorQuantizer(stages),
        }
        return Quantized(self.name, n, native_size, mode, symbols, state)


def _unpack_color_stages(payload: bytes, pos: int, count: int, scheme: str) -> tuple[list[VectorQuantizer], int]:
    """Read ``count`` float16 colour codebooks (K x 3 each), as stored by the colour-VQ schemes."""
    stages = []
    for _ in range(count):
        book, pos = _unpack_floats(payload, pos)
        if not len(book) or len(book) % 3:
            msg = f"{scheme} colour codebook is malformed"
            raise SchemeError(msg)
        stages.append(VectorQuantizer(book.reshape(-1, 3), np.zeros(3, np.float32), np.ones(3, np.float32)))
    return stages, pos


def _color_codebooks(q: Quantized) -> list[CodebookUse]:
    return [
        CodebookUse(stage.codebook, q.symbols["color"][:, k], slice(5, 8))
        for k, stage in enumerate(q.state["color"].stages)
    ]


def _check_counts(symbols: dict, n: int, pos: int, total: int, stage_sizes: list[int], name: str) -> None:
    if pos != total:
        msg = f"{name} payload has {total - pos} unexpected trailing bytes"
        raise SchemeError(msg)
    for key, value in symbols.items():
        if len(value) != n:
            msg = f"{name} {key} stream holds {len(value)} entries, the header says {n} Gaussians"
            raise SchemeError(msg)
    color = symbols.get("color")
    if color is not None and len(color) and np.any(color.max(axis=0) >= np.array(stage_sizes)):
        msg = f"{name} colour index out of range"
        raise SchemeError(msg)


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
            stage.codebook = _snap16(stage.codebook)
        return {"color": rvq}

    def _colour_symbols(self, g: Gaussians, state: dict, shape: dict[str, np.ndarray]) -> np.ndarray:
        return state["color"].quantize(g.colors)

    def _colours(self, s: dict[str, np.ndarray], state: dict) -> np.ndarray:
        return state["color"].dequantize(s["color"])

    def _pack_colour_model(self, state: dict, out: bytearray) -> None:
        write_varint(len(state["color"].stages), out)
        for stage in state["color"].stages:
            _pack_floats(stage.codebook, out)

    def _unpack_colour_model(self, payload: bytes, pos: int) -> tuple[dict, int]:
        n_stages, pos = read_varint(payload, 0)
        if not 1 <= n_stages <= 8:
            msg = f"lgi payload claims {n_stages} colour stages"
            raise SchemeError(msg)
        stages, pos = _unpack_color_stages(payload, pos, n_stages, self.name)
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
            symbols["opacity"] = _quantize_opacity(g.opacities)
        return Quantized(self.name, len(g), g.native_size, mode, symbols, state)

    def dequantize(self, q):
        s = q.symbols
        return Gaussians(
            self._positions(s["position"], q.native_size),
            self._chol(s, q.native_size),
            self._colours(s, q.state),
            _dequantize_opacity(q),
            q.native_size,
        )

    def codebooks(self, q):
        return _color_codebooks(q)

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
            codes = _morton(s["position"][:, 0], s["position"][:, 1])
            order = np.argsort(codes, kind="stable")
            s = {k: v[order] for k, v in s.items()}
            parts["positions"] = _encode_sorted_codes(codes[order])
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
            codes, pos = _decode_sorted_codes(payload, pos, n)
            x, y = _unmorton(codes)
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
        _check_counts(symbols, n, pos, len(payload), alphabets, self.name)
        return Quantized(self.name, n, native_size, mode, symbols, state)


class LgiScalarColourScheme(LgiScheme):
    """``lgi-sq``: lgi's positions and shapes; colours scalar-quantized and range-coded instead of a codebook.

    Colours are rotated into their own principal axes (a 3x3 basis fitted per picture, stored as float16), then
    divided by a step that shrinks as the Gaussian's footprint grows: an error in a big Gaussian's colour
    touches more pixels (its squared-error weight is the footprint energy, pi * sqrt(det(covariance)) in
    pixels), so equal steps in ``colour * sqrt(energy)`` spend bits where the picture sees them. The decoder
    knows each shape, hence each step. Measured (kodim23, N=3000): 11.1 bits per Gaussian cost 1.4 dB where a
    256-entry codebook cost 3.3 dB at ~12 bits with its codebook (docs/quantization.md).
    """

    name = "lgi-sq"
    staged_qa = True
    COLOR_STEP = 0.15
    SYMBOL_LIMIT = 1 << 20

    def __init__(self, steps: LgiSteps | None = None, color_step: float | None = None) -> None:
        super().__init__(steps)
        self.color_step = color_step or self.COLOR_STEP

    def _train_colour(self, g, codebook_size, seed, previous):
        colors = g.colors.astype(np.float64)
        basis = np.eye(3)
        if len(colors) > 3:
            _, vectors = np.linalg.eigh(np.cov(colors.T))
            basis = vectors[:, ::-1]
            basis *= np.where(basis[np.abs(basis).argmax(axis=0), range(3)] < 0, -1.0, 1.0)  # one sign per axis
        mean = colors.mean(axis=0) if len(colors) else np.zeros(3)
        return {"mean": _snap16(mean), "basis": _snap16(basis), "step": np.float32(self.color_step)}

    def _energy_root(self, shape: dict[str, np.ndarray]) -> np.ndarray:
        """sqrt of each Gaussian's footprint energy in native pixels, from its decoded shape (with the floor)."""
        major, minor = self._sigmas(shape["size"], shape["ratio"])
        return np.sqrt(np.pi) * ((major**2 + COV_FLOOR_PX2) * (minor**2 + COV_FLOOR_PX2)) ** 0.25

    def _colour_symbols(self, g, state, shape):
        rotated = (g.colors.astype(np.float64) - state["mean"]) @ state["basis"]
        t = np.round(rotated * self._energy_root(shape)[:, None] / float(state["step"]))
        t = np.clip(t, -(self.SYMBOL_LIMIT // 2) + 1, self.SYMBOL_LIMIT // 2 - 1).astype(np.int64)
        return np.where(t >= 0, 2 * t, -2 * t - 1).astype(np.int32)  # zigzag: the coder takes non-negatives

    def _colours(self, s, state):
        z = s["color"].astype(np.int64)
        t = np.where(z % 2 == 0, z // 2, -(z + 1) // 2).astype(np.float64)
        rotated = t * float(state["step"]) / self._energy_root(s)[:, None]
        return (rotated @ state["basis"].T + state["mean"]).astype(np.float32)

    def _pack_colour_model(self, state, out):
        _pack_floats(np.array([state["step"]]), out, "<f4")
        _pack_floats(np.concatenate([state["mean"], state["basis"].ravel()]), out)

    def _unpack_colour_model(self, payload, pos):
        step, pos = _unpack_floats(payload, pos, "<f4", limit=1)
        model, pos = _unpack_floats(payload, pos, limit=12)
        if len(step) != 1 or not (np.isfinite(step[0]) and step[0] > 0) or len(model) != 12:
            msg = "lgi-sq colour model is malformed"
            raise SchemeError(msg)
        if not np.isfinite(model).all():
            msg = "lgi-sq colour model is not finite"
            raise SchemeError(msg)
        return {
            "mean": model[:3].astype(np.float64),
            "basis": model[3:].reshape(3, 3).astype(np.float64),
            "step": step[0],
        }, pos

    def _colour_alphabets(self, state):
        return [self.SYMBOL_LIMIT] * 3

    def codebooks(self, q):
        return []


def _encode_sorted_codes(codes: np.ndarray) -> bytes:
    """Sorted non-negative int64 codes as deltas, each split into its bit length (range-coded with a
    histogram over at most 63 lengths) and the bits below its leading one (uniform): close to the entropy of
    the near-geometric gaps, with no long-tailed histogram to send."""
    deltas = np.diff(codes, prepend=0).astype(np.int64)
    lengths = np.zeros(len(deltas), np.int32)
    nonzero = deltas > 0
    lengths[nonzero] = np.floor(np.log2(deltas[nonzero])).astype(np.int32) + 1
    # float log2 can be off by one near powers of two: fix against exact integer bounds
    lengths[nonzero & (deltas >= (np.int64(1) << lengths.astype(np.int64)))] += 1
    lengths[nonzero & (deltas < (np.int64(1) << (lengths.astype(np.int64) - 1)))] -= 1
    mantissa_bits = np.maximum(lengths - 1, 0)
    has_mantissa = mantissa_bits > 0
    mantissa = deltas - np.where(nonzero, np.int64(1) << mantissa_bits.astype(np.int64), 0)
    out = bytearray(encode_categorical(lengths))
    out += _encode_raw_bits(mantissa[has_mantissa], mantissa_bits[has_mantissa])
    return bytes(out)


def _encode_raw_bits(values: np.ndarray, bits: np.ndarray) -> bytes:
    """Values of up to 62 bits each, as 16-bit uniform chunks (the range coder's symbols are 32-bit)."""
    chunks, sizes = _split_chunks(values.astype(np.int64), bits)
    return encode_uniform_sized(chunks, sizes)


def _split_chunks(values: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    chunks, sizes = [], []
    for k in range(4):
        width = np.clip(bits - 16 * k, 0, 16)
        take = width > 0
        chunks.append(np.where(take, (values >> (16 * k)) & ((np.int64(1) << width) - 1), 0))
        sizes.append(np.where(take, np.int64(1) << width, 0))
    chunks_arr = np.stack(chunks, axis=1).ravel()
    sizes_arr = np.stack(sizes, axis=1).ravel()
    keep = sizes_arr > 1
    return chunks_arr[keep].astype(np.int32), sizes_arr[keep].astype(np.int32)


def _decode_sorted_codes(data: bytes, pos: int, n: int) -> tuple[np.ndarray, int]:
    lengths, pos = decode_categorical(data, pos, n)
    if n and lengths.max() > 62:
        msg = "position stream does not match the header"
        raise SchemeError(msg)
    mantissa_bits = np.maximum(lengths - 1, 0).astype(np.int64)
    has_mantissa = mantissa_bits > 0
    bits = mantissa_bits[has_mantissa]
    _, sizes = _split_chunks(np.zeros(len(bits), np.int64), bits)
    chunks, pos = decode_uniform_sized(data, pos, sizes)
    values = np.zeros(len(bits), np.int64)
    for k in range(4):
        # chunks were stored per value in order k = 0..3, skipping empty ones
        values[bits > 16 * k] |= _chunks_for_level(chunks, bits, k).astype(np.int64) << (16 * k)
    deltas = np.where(lengths > 0, np.int64(1) << mantissa_bits, 0)
    deltas[has_mantissa] += values
    return np.cumsum(deltas), pos


def _chunks_for_level(chunks: np.ndarray, bits: np.ndarray, level: int) -> np.ndarray:
    """The level-``level`` chunk of each value that has one, from the interleaved chunk stream."""
    per_value = np.ceil(bits / 16).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(per_value)[:-1]])
    has = per_value > level
    return chunks[starts[has] + level]


def _encode_angles(angle: np.ndarray, levels: np.ndarray) -> bytes:
    """Angles of anisotropic Gaussians at their own precision (round ones carry none)."""
    coded = levels > 1
    return encode_uniform_sized(angle[coded], levels[coded])


def _decode_angles(data: bytes, pos: int, levels: np.ndarray) -> tuple[np.ndarray, int]:
    coded = levels > 1
    angle = np.zeros(len(levels), np.int32)
    angle[coded], pos = decode_uniform_sized(data, pos, levels[coded])
    return angle, pos


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name`` (one of ``SCHEMES``), built from its ``core.registry`` entry."""
    if name not in REGISTRY:
        msg = f"unknown quantization scheme {name!r}: use one of {', '.join(SCHEMES)}"
        raise SchemeError(msg)
    return globals()[REGISTRY[name].class_name]()


def with_steps(name: str, steps: LgiSteps, color_step: float | None = None) -> Scheme:
    """The scheme called ``name``, with ``steps`` (and ``lgi-sq``'s colour step) where it is one of the lgi
    family."""
    if name == "lgi":
        return LgiScheme(steps)
    if name == "lgi-sq":
        return LgiScalarColourScheme(steps, color_step)
    return get_scheme(name)


def scheme_of(q: Quantized) -> Scheme:
    """The scheme that decodes ``q``: its name's, with the steps ``q`` was quantized with (the lgi family
    records them in its state; files in their header)."""
    return with_steps(q.scheme, q.state["steps"]) if "steps" in q.state else get_scheme(q.scheme)
