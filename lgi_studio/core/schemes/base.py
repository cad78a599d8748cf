"""What every scheme shares: the quantized form, the scheme interface, and the float and index fields
the schemes' payloads are made of."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lgi_kernels import RenderMode

from ..entropy import EntropyError, read_varint, write_varint
from ..model import Gaussians
from ..quantize import VectorQuantizer
from ..scheme_names import SIZED_CODEBOOK


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


def snap16(x: np.ndarray) -> np.ndarray:
    """Round to float16 and back: what a float16 field stores."""
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def pack_floats(values: np.ndarray, out: bytearray, dtype: str = "<f2") -> None:
    flat = np.asarray(values, np.float32).ravel()
    write_varint(len(flat), out)
    out += flat.astype(dtype).tobytes()


def unpack_floats(data: bytes, pos: int, dtype: str = "<f2", limit: int = 1 << 24) -> tuple[np.ndarray, int]:
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


def as_vector(g: Gaussians, mode: RenderMode) -> np.ndarray:
    parts = [g.means, g.chol, g.colors]
    if mode is RenderMode.ALPHA:
        parts.append(g.opacities[:, None])
    return np.concatenate(parts, axis=1)


def from_vector(v: np.ndarray, mode: RenderMode, native_size: tuple[int, int]) -> Gaussians:
    opacities = v[:, 8] if mode is RenderMode.ALPHA else np.ones(len(v), np.float32)
    return Gaussians(v[:, 0:2], v[:, 2:5], v[:, 5:8], opacities, native_size)


OPACITY_LEVELS = 64
"""Opacity (alpha mode) is a 6-bit scalar in every quantized scheme."""


def quantize_opacity(opacities: np.ndarray) -> np.ndarray:
    top = OPACITY_LEVELS - 1
    return np.clip(np.round(opacities * top), 0, top).astype(np.int32)


def dequantize_opacity(q: Quantized) -> np.ndarray:
    """Opacities of ``q`` (all ones in sum mode, which ignores them)."""
    if q.mode is RenderMode.ALPHA:
        return q.symbols["opacity"] / (OPACITY_LEVELS - 1)
    return np.ones(q.n)


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
                stage.codebook = snap16(stage.codebook)

    def dequantize(self, q: Quantized) -> Gaussians:
        raise NotImplementedError

    def pack(self, q: Quantized) -> bytes:
        raise NotImplementedError

    def unpack(self, payload: bytes, n: int, native_size: tuple[int, int], mode: RenderMode) -> Quantized:
        raise NotImplementedError


def unpack_colour_stages(payload: bytes, pos: int, count: int, scheme: str) -> tuple[list[VectorQuantizer], int]:
    """Read ``count`` float16 colour codebooks (K x 3 each), as stored by the colour-VQ schemes."""
    stages = []
    for _ in range(count):
        book, pos = unpack_floats(payload, pos)
        if not len(book) or len(book) % 3:
            msg = f"{scheme} colour codebook is malformed"
            raise SchemeError(msg)
        stages.append(VectorQuantizer(book.reshape(-1, 3), np.zeros(3, np.float32), np.ones(3, np.float32)))
    return stages, pos


def colour_codebooks(q: Quantized) -> list[CodebookUse]:
    return [
        CodebookUse(stage.codebook, q.symbols["color"][:, k], slice(5, 8))
        for k, stage in enumerate(q.state["color"].stages)
    ]


def check_counts(symbols: dict, n: int, pos: int, total: int, stage_sizes: list[int], name: str) -> None:
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
