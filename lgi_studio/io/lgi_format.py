"""The ``.lgi`` container: reading (defensively) and writing (atomically). Spec: docs/lgi-format.md.

Layout: an 8-byte signature, then chunks of ``length (u32 BE) | type (4 ASCII) | payload | CRC-32 (u32 BE,
over type and payload)``: ``IHDR`` first, one ``GAUS`` (the scheme's payload, optionally zstd-compressed),
an optional ``meta`` (JSON), ``IEND`` last. A chunk type with an upper-case first letter is critical (an
unknown one is an error); lower-case is ancillary (an unknown one is skipped).

The reader reads regular files only, at most ``MAX_FILE`` bytes; it checks every count and length against
limits before it allocates anything (each stream's symbol count against the header before decoding it), the
decoded Gaussians for finite values in range, and turns every problem into one exception type,
``LgiFormatError``, with a message a person can act on. Rendering a file's Gaussians goes through
``LgiFile.render``, which refuses work beyond ``render_limits`` first.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zstandard

from lgi_kernels import RenderMode
from lgi_studio.core.entropy import EntropyError
from lgi_studio.core.model import Gaussians
from lgi_studio.core.registry import SCHEME_IDS
from lgi_studio.core.schemes import LgiSteps, Quantized, Scheme, SchemeError, scheme_of, with_steps

from .atomic import atomic_writer
from .errors import LgiFormatError, RenderLimitError
from .lgi_meta import MAX_META, parse_meta
from .metrics_files import json_safe
from .render_limits import render_checked

__all__ = ["LgiFile", "LgiFormatError", "LgiHeader", "RenderLimitError", "decode_lgi", "encode_lgi", "read_lgi"]

SIGNATURE = b"\x89LGI\r\n\x1a\n"
VERSION = 2
"""Version 2 added the parametric model of categorical streams (docs/lgi-format.md, Versioning)."""
READABLE_VERSIONS = (1, 2)
MAX_SIDE = 32768
MAX_GAUSSIANS = 2_000_000
"""The most the encoder fits (``FitConfig.count``)."""
MAX_PAYLOAD = 80 << 20
"""Hard cap on a decompressed GAUS payload (80 MiB: 2,000,000 lossless alpha-mode Gaussians take 72 MB)."""
MAX_CHUNK = MAX_PAYLOAD
MAX_BYTES_PER_GAUSSIAN = 64
MAX_FILE = MAX_PAYLOAD + MAX_META + (1 << 16)
"""The reader reads at most this many bytes: a bigger file (or /dev/zero) is refused, not read into memory."""
MAX_COORDINATE = 64.0
"""Largest |mean| and |Cholesky factor| a reader accepts (normalized units: 64 picture widths); beyond it a
render's float32 covariances would overflow."""
MAX_COLOUR = 1024.0

FLAG_ALPHA = 1
FLAG_ZSTD = 2
_IHDR = struct.Struct(">BBHHIBBI4B")  # 20 bytes


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
    _decoded: Gaussians | None = field(default=None, compare=False, repr=False)

    def _dequantized(self) -> Gaussians:
        """Dequantized once (the reader validates them; a render uses them again)."""
        if self._decoded is None:
            object.__setattr__(self, "_decoded", scheme_for(self.header).dequantize(self.quantized))
        return self._decoded

    def gaussians(self) -> Gaussians:
        """The Gaussians exactly as written (a copy: callers may change it)."""
        return self._dequantized().copy()

    def render(self, width: int | None = None, height: int | None = None, mode: RenderMode | None = None) -> np.ndarray:
        """Render ``[H, W, 3]`` float32 at any size (native by default) in the file's mode unless told;
        ``RenderLimitError`` when the render would exceed ``render_limits`` (checked before allocating)."""
        return render_checked(self._dequantized(), width, height, mode or self.header.mode)


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
        text = json.dumps(json_safe(metadata), separators=(",", ":"), sort_keys=True, allow_nan=False)
        parts.append(_chunk(b"meta", text.encode()))
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
    return read_lgi_with_bytes(path)[0]


def read_lgi_with_bytes(path: str | os.PathLike[str]) -> tuple[LgiFile, bytes]:
    """Read and validate a .lgi file; also the bytes read, for a caller that keeps an exact copy of the file
    it validated (the GUI exports an opened file from them)."""
    p = Path(path)
    try:
        data = _read_regular_file(p)
        return decode_lgi(data), data
    except LgiFormatError as exc:
        raise LgiFormatError(f"{p}: {exc}") from None


def _read_regular_file(p: Path) -> bytes:
    """At most ``MAX_FILE`` bytes of a regular file. A FIFO, a device (/dev/zero) or a folder is refused
    without reading: it is opened non-blocking, so opening a FIFO with no writer cannot hang."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise LgiFormatError(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            msg = "not a regular file"
            raise LgiFormatError(msg)
        if info.st_size > MAX_FILE:
            msg = f"{info.st_size} bytes is larger than any .lgi file we read ({MAX_FILE})"
            raise LgiFormatError(msg)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise LgiFormatError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:
        msg = f"the file grows beyond the {MAX_FILE} bytes we read"
        raise LgiFormatError(msg)
    return data


HEADER_BYTES = len(SIGNATURE) + 12 + _IHDR.size
"""The signature and the IHDR chunk: what ``decode_header`` needs."""


def decode_header(prefix: bytes) -> LgiHeader:
    """The header of a .lgi file from its first ``HEADER_BYTES`` bytes, validated (framing, CRC, limits) the
    way ``decode_lgi`` validates it; the rest of the file is not looked at."""
    if not prefix.startswith(SIGNATURE):
        msg = "not a .lgi file (wrong signature)"
        raise LgiFormatError(msg)
    kind, payload = next(_chunks(prefix[:HEADER_BYTES]))
    if kind != b"IHDR":
        msg = f"first chunk is {kind.decode()}, expected IHDR"
        raise LgiFormatError(msg)
    return _parse_header(payload)[0]


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
    header = raw_size = zstd = gaus = meta = None
    seen: set[bytes] = set()
    for kind, payload in _chunks(data):
        if header is None and kind != b"IHDR":
            msg = f"first chunk is {kind.decode()}, expected IHDR"
            raise LgiFormatError(msg)
        if kind in seen and kind in (b"IHDR", b"GAUS", b"meta"):
            msg = f"more than one {kind.decode()} chunk"
            raise LgiFormatError(msg)
        seen.add(kind)
        if kind == b"IHDR":
            header, raw_size, zstd = _parse_header(payload)
        elif kind == b"GAUS":
            gaus = payload
        elif kind == b"meta":
            meta = payload
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
    metadata = parse_meta(meta) if meta is not None else {}
    raw = _inflate(gaus, raw_size) if zstd else gaus
    if len(raw) != raw_size:
        msg = f"payload has {len(raw)} bytes, the header declares {raw_size}"
        raise LgiFormatError(msg)
    lgi = LgiFile(header, _unpack(header, raw), metadata, len(gaus), len(data))
    with np.errstate(all="ignore"):  # hostile numbers may overflow here: the check below refuses the result
        gaussians = lgi._dequantized()
    _check_gaussians(gaussians, header.mode)
    return lgi


def _unpack(header: LgiHeader, raw: bytes) -> Quantized:
    try:
        return scheme_for(header).unpack(raw, header.count, (header.width, header.height), header.mode)
    except (SchemeError, EntropyError) as exc:
        msg = f"Gaussian data is corrupt: {exc}"
        raise LgiFormatError(msg) from None
    except (ValueError, IndexError, OverflowError) as exc:
        msg = f"Gaussian data is corrupt ({type(exc).__name__}: {exc})"
        raise LgiFormatError(msg) from None


def _check_gaussians(g: Gaussians, mode: RenderMode) -> None:
    """Refuse decoded parameters no writer produces: NaN, infinity, or so large that a render's float32
    arithmetic would overflow (the renderer would refuse them later, with a traceback instead of a message)."""
    limits = {"means": MAX_COORDINATE, "chol": MAX_COORDINATE, "colors": MAX_COLOUR}
    if mode is RenderMode.ALPHA:
        limits["opacities"] = 1.0
    for name, limit in limits.items():
        values = getattr(g, name)
        with np.errstate(invalid="ignore"):
            bad = not np.isfinite(values).all() or (values.size and float(np.abs(values).max()) > limit)
        if bad:
            msg = f"Gaussian {name} are not finite or not within +-{limit:g}"
            raise LgiFormatError(msg)
    if mode is RenderMode.ALPHA and g.opacities.size and float(g.opacities.min()) < 0.0:
        msg = "Gaussian opacities are negative"
        raise LgiFormatError(msg)


_ZSTD_STEP = 1024
"""Compressed bytes fed to zstd per call: one call can expand at most ~130 KB per 4 input bytes (RLE
blocks), so each step's output stays below ~35 MB whatever the data."""


def _inflate(payload: bytes, declared: int) -> bytes:
    """zstd-decompress exactly one frame of no more than ``declared`` bytes: a zstd bomb stops within one
    step of the cap; a second frame, a skippable frame first, or bytes after the frame are refused."""
    engine = zstandard.ZstdDecompressor().decompressobj()
    parts: list[bytes] = []
    total = fed = 0
    try:
        while fed < len(payload) and not engine.eof:
            part = engine.decompress(payload[fed : fed + _ZSTD_STEP])
            fed = min(len(payload), fed + _ZSTD_STEP)
            parts.append(part)
            total += len(part)
            if total > declared:
                msg = "compressed Gaussian data expands beyond its declared size"
                raise LgiFormatError(msg)
    except zstandard.ZstdError as exc:
        msg = f"compressed Gaussian data is corrupt ({exc})"
        raise LgiFormatError(msg) from None
    if not engine.eof:
        msg = "compressed Gaussian data is truncated (the zstd frame does not end)"
        raise LgiFormatError(msg)
    if fed - len(engine.unused_data) != len(payload):
        msg = "GAUS holds more than one zstd frame or trailing bytes after it"
        raise LgiFormatError(msg)
    return b"".join(parts)
