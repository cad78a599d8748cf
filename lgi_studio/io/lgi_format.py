"""The ``.lgi`` container: reading (defensively) and writing (atomically). Spec: docs/lgi-format.md.

Layout: an 8-byte signature, then chunks of ``length (u32 BE) | type (4 ASCII) | payload | CRC-32 (u32 BE,
over type and payload)``: ``IHDR`` first, one ``GAUS`` (the scheme's payload, optionally zstd-compressed),
an optional ``meta`` (JSON), ``IEND`` last. A chunk type with an upper-case first letter is critical (an
unknown one is an error); lower-case is ancillary (an unknown one is skipped).

The reader checks every count and length against limits before it allocates anything and turns every
problem into one exception type, ``LgiFormatError``, with a message a person can act on.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from lgi_kernels import RenderMode
from lgi_studio.core.entropy import EntropyError
from lgi_studio.core.model import Gaussians
from lgi_studio.core.registry import SCHEME_IDS
from lgi_studio.core.schemes import LgiSteps, Quantized, Scheme, SchemeError, scheme_of, with_steps

from .atomic import atomic_writer

SIGNATURE = b"\x89LGI\r\n\x1a\n"
VERSION = 2
"""Version 2 added the parametric model of categorical streams (docs/lgi-format.md, Versioning)."""
READABLE_VERSIONS = (1, 2)
MAX_SIDE = 32768
MAX_GAUSSIANS = 4_000_000
MAX_CHUNK = 1 << 28
MAX_PAYLOAD = 1 << 28
"""Hard cap on a decompressed GAUS payload (256 MB), whatever the header declares."""
MAX_BYTES_PER_GAUSSIAN = 64
MAX_META = 1 << 20

FLAG_ALPHA = 1
FLAG_ZSTD = 2
_IHDR = struct.Struct(">BBHHIBBI4B")  # 20 bytes


class LgiFormatError(Exception):
    """A .lgi file is not valid: wrong signature, corrupt, truncated, or outside our limits."""


@dataclass(frozen=True)
class LgiHeader:
    """What the IHDR chunk says."""

    version: int
    width: int
    height: int
    mode: RenderMode
    count: int
    scheme: str
    steps: LgiSteps = field(default_factory=LgiSteps)
    colour_space: str = "sRGB"


@dataclass(frozen=True)
class LgiFile:
    """A decoded .lgi file: the header, the quantized symbols, and any metadata."""

    header: LgiHeader
    quantized: Quantized
    metadata: dict
    payload_bytes: int  # GAUS payload as stored (after zstd, if used)
    file_bytes: int

    def gaussians(self) -> Gaussians:
        """The Gaussians exactly as written."""
        return scheme_for(self.header).dequantize(self.quantized)


def scheme_for(header: LgiHeader) -> Scheme:
    return with_steps(header.scheme, header.steps)


def _steps_bytes(steps: LgiSteps) -> tuple[int, int, int, int]:
    """The lgi scheme's steps as four bytes: 1/position, 1/log2-size, angle levels per aspect, stages."""
    if steps.max_angle_levels != LgiSteps().max_angle_levels:
        msg = "the header records the default max_angle_levels only"
        raise ValueError(msg)
    values = (1.0 / steps.position_px, 1.0 / steps.log2_size, steps.angle_per_aspect, steps.color_stages)
    packed = tuple(round(v) for v in values)
    if any(not 1 <= p <= 255 for p in packed) or any(abs(p - v) > 1e-9 for p, v in zip(packed, values, strict=True)):
        msg = f"lgi steps {steps} cannot be recorded in the header (each must be 1/k or k with k in 1..255)"
        raise ValueError(msg)
    return packed  # type: ignore[return-value]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_lgi(quantized: Quantized, metadata: dict | None = None) -> bytes:
    """The bytes of a .lgi file holding ``quantized``; the header records the lgi family's steps it was
    quantized with."""
    steps = quantized.state.get("steps", LgiSteps())
    scheme = scheme_of(quantized)
    raw = scheme.pack(quantized)
    squeezed = zstandard.ZstdCompressor(level=19).compress(raw)
    use_zstd = len(squeezed) < len(raw)
    flags = (FLAG_ALPHA if quantized.mode is RenderMode.ALPHA else 0) | (FLAG_ZSTD if use_zstd else 0)
    width, height = quantized.native_size
    header = _IHDR.pack(
        VERSION, flags, width, height, quantized.n, SCHEME_IDS[quantized.scheme], 0, len(raw), *_steps_bytes(steps)
    )
    parts = [SIGNATURE, _chunk(b"IHDR", header), _chunk(b"GAUS", squeezed if use_zstd else raw)]
    if metadata:
        parts.append(_chunk(b"meta", json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode()))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def write_lgi(path: str | os.PathLike[str], quantized: Quantized, metadata: dict | None = None) -> int:
    """Write a .lgi file atomically; returns its size in bytes."""
    data = encode_lgi(quantized, metadata)
    with atomic_writer(path) as handle:
        handle.write(data)
    return len(data)


def read_lgi(path: str | os.PathLike[str]) -> LgiFile:
    """Read and validate a .lgi file."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        msg = f"{p}: {exc.strerror or exc}"
        raise LgiFormatError(msg) from exc
    if size > MAX_CHUNK + 1024:
        msg = f"{p}: {size} bytes is larger than any .lgi file we write"
        raise LgiFormatError(msg)
    try:
        data = p.read_bytes()
    except OSError as exc:
        msg = f"{p}: {exc.strerror or exc}"
        raise LgiFormatError(msg) from exc
    try:
        return decode_lgi(data)
    except LgiFormatError as exc:
        msg = f"{p}: {exc}"
        raise LgiFormatError(msg) from None


def _parse_header(payload: bytes) -> tuple[LgiHeader, int, bool]:
    if len(payload) != _IHDR.size:
        msg = f"header chunk has {len(payload)} bytes, expected {_IHDR.size}"
        raise LgiFormatError(msg)
    version, flags, width, height, count, scheme_id, colour, raw_size, *steps = _IHDR.unpack(payload)
    if version not in READABLE_VERSIONS:
        msg = f"format version {version} is not supported (this reader knows versions 1 to {VERSION})"
        raise LgiFormatError(msg)
    if flags & ~(FLAG_ALPHA | FLAG_ZSTD):
        msg = f"unknown header flags {flags:#x}"
        raise LgiFormatError(msg)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        msg = f"picture size {width}x{height} is outside 1..{MAX_SIDE}"
        raise LgiFormatError(msg)
    if count > MAX_GAUSSIANS:
        msg = f"{count} Gaussians is more than the {MAX_GAUSSIANS} we accept"
        raise LgiFormatError(msg)
    names = {v: k for k, v in SCHEME_IDS.items()}
    if scheme_id not in names:
        msg = f"unknown quantization scheme id {scheme_id}"
        raise LgiFormatError(msg)
    if colour != 0:
        msg = f"unknown colour space id {colour}"
        raise LgiFormatError(msg)
    if raw_size > min(MAX_PAYLOAD, 4096 + count * MAX_BYTES_PER_GAUSSIAN + (1 << 20)):
        msg = f"declared payload of {raw_size} bytes is implausible for {count} Gaussians"
        raise LgiFormatError(msg)
    if any(s == 0 for s in steps):
        msg = "scheme parameters in the header are zero"
        raise LgiFormatError(msg)
    lgi_steps = LgiSteps(1.0 / steps[0], 1.0 / steps[1], float(steps[2]), color_stages=steps[3])
    mode = RenderMode.ALPHA if flags & FLAG_ALPHA else RenderMode.ACCUMULATED_SUM
    header = LgiHeader(version, width, height, mode, count, names[scheme_id], lgi_steps)
    return header, raw_size, bool(flags & FLAG_ZSTD)


def _chunks(data: bytes):
    """Yield (type, payload) after checking framing and CRC; the last one must be IEND with no trailing data."""
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            msg = "file is truncated (no IEND chunk)"
            raise LgiFormatError(msg)
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if not kind.isalpha() or not kind.isascii():
            msg = f"invalid chunk type {kind!r} at byte {pos + 4}"
            raise LgiFormatError(msg)
        end = pos + 8 + length + 4
        if length > MAX_CHUNK or end > len(data):
            msg = f"chunk {kind.decode()} is truncated or its length ({length}) is corrupt"
            raise LgiFormatError(msg)
        payload = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if crc != zlib.crc32(kind + payload) & 0xFFFFFFFF:
            msg = f"chunk {kind.decode()} is corrupt (CRC mismatch)"
            raise LgiFormatError(msg)
        yield kind, payload
        pos = end
        if kind == b"IEND":
            if pos != len(data):
                msg = f"{len(data) - pos} bytes of trailing data after IEND"
                raise LgiFormatError(msg)
            return


def decode_lgi(data: bytes) -> LgiFile:
    """Parse and validate the bytes of a .lgi file."""
    if not data.startswith(SIGNATURE):
        msg = "not a .lgi file (wrong signature)"
        raise LgiFormatError(msg)
    header = raw_size = zstd = gaus = None
    metadata: dict = {}
    for kind, payload in _chunks(data):
        if header is None and kind != b"IHDR":
            msg = f"first chunk is {kind.decode()}, expected IHDR"
            raise LgiFormatError(msg)
        if kind == b"IHDR":
            if header is not None:
                msg = "more than one IHDR chunk"
                raise LgiFormatError(msg)
            header, raw_size, zstd = _parse_header(payload)
        elif kind == b"GAUS":
            if gaus is not None:
                msg = "more than one GAUS chunk"
                raise LgiFormatError(msg)
            gaus = payload
        elif kind == b"meta":
            metadata = _parse_meta(payload)
        elif kind == b"IEND":
            if payload:
                msg = "IEND chunk must be empty"
                raise LgiFormatError(msg)
        elif kind[:1].isupper():
            msg = f"unknown critical chunk {kind.decode()}"
            raise LgiFormatError(msg)
    if gaus is None:
        msg = "no GAUS chunk (the Gaussians are missing)"
        raise LgiFormatError(msg)
    raw = _inflate(gaus, raw_size) if zstd else gaus
    if len(raw) != raw_size:
        msg = f"payload has {len(raw)} bytes, the header declares {raw_size}"
        raise LgiFormatError(msg)
    try:
        quantized = scheme_for(header).unpack(raw, header.count, (header.width, header.height), header.mode)
    except (SchemeError, EntropyError) as exc:
        msg = f"Gaussian data is corrupt: {exc}"
        raise LgiFormatError(msg) from None
    except (ValueError, IndexError, OverflowError) as exc:
        msg = f"Gaussian data is corrupt ({type(exc).__name__}: {exc})"
        raise LgiFormatError(msg) from None
    return LgiFile(header, quantized, metadata, len(gaus), len(data))


def _inflate(payload: bytes, declared: int) -> bytes:
    """zstd-decompress no more than ``declared`` bytes: a zstd bomb stops at the cap."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(payload)
        raw = reader.read(declared + 1)
    except zstandard.ZstdError as exc:
        msg = f"compressed Gaussian data is corrupt ({exc})"
        raise LgiFormatError(msg) from None
    if len(raw) > declared:
        msg = "compressed Gaussian data expands beyond its declared size"
        raise LgiFormatError(msg)
    return raw


def _parse_meta(payload: bytes) -> dict:
    if len(payload) > MAX_META:
        msg = "metadata chunk is too large"
        raise LgiFormatError(msg)
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"metadata chunk is not valid JSON ({exc})"
        raise LgiFormatError(msg) from None
    if not isinstance(value, dict):
        msg = "metadata chunk must hold a JSON object"
        raise LgiFormatError(msg)
    return value
