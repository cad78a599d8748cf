"""Structural test cases for the .lgi reader: files that get past the checksums to the parsers behind them.

Raw bit flips stop at the CRC. Each strategy here mutates something structural (a header field, a chunk,
the decompressed payload, a stream's model, the metadata, the declared work) and then rebuilds the file with
every length and CRC recomputed, so the case reaches the code it is aimed at. ``make_case(rng, seeds)``
returns (strategy name, bytes); every choice comes from ``rng``, so a seed reproduces a run.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable

import numpy as np
import zstandard

from lgi_kernels import RenderMode
from lgi_studio.core.entropy import encode_categorical, encode_uniform, encode_uniform_sized, write_varint
from lgi_studio.core.model import Gaussians
from lgi_studio.core.scheme_names import SCHEMES
from lgi_studio.core.schemes import get_scheme
from lgi_studio.io.lgi_format import _IHDR, FLAG_ALPHA, FLAG_ZSTD, SCHEME_IDS, SIGNATURE, encode_lgi

Chunks = list[tuple[bytes, bytes]]
FIELDS = ("version", "flags", "width", "height", "count", "scheme", "colour", "raw_size", "s0", "s1", "s2", "s3")
FIELD_MAX = (255, 255, 65535, 65535, 2**32 - 1, 255, 255, 2**32 - 1, 255, 255, 255, 255)


# ------------------------------------------------------------------------------------------------ crafting


def split_chunks(data: bytes) -> Chunks:
    """The chunks of ``data`` by their length fields, stopping where they stop making sense."""
    chunks, pos = [], len(SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        if pos + 12 + length > len(data):
            break
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def join_chunks(chunks: Chunks) -> bytes:
    """A file of these chunks, every length and CRC correct."""
    return SIGNATURE + b"".join(chunk(kind, payload) for kind, payload in chunks)


def header_of(chunks: Chunks) -> list[int]:
    return list(_IHDR.unpack(chunks[0][1]))


def with_header(chunks: Chunks, **changes: int) -> Chunks:
    fields = dict(zip(FIELDS, header_of(chunks), strict=True)) | changes
    packed = _IHDR.pack(*(int(fields[f]) & FIELD_MAX[i] for i, f in enumerate(FIELDS)))
    return [(b"IHDR", packed), *chunks[1:]]


def raw_payload(chunks: Chunks) -> bytes:
    """The GAUS payload after decompression."""
    gaus = next(p for k, p in chunks if k == b"GAUS")
    return zstandard.ZstdDecompressor().decompress(gaus) if header_of(chunks)[1] & FLAG_ZSTD else gaus


def with_payload(chunks: Chunks, raw: bytes, squeeze: bool) -> Chunks:
    """``chunks`` with GAUS holding ``raw`` (zstd-compressed if ``squeeze``) and the header's size and flag
    to match."""
    flags = header_of(chunks)[1]
    flags = flags | FLAG_ZSTD if squeeze else flags & ~FLAG_ZSTD
    gaus = zstandard.ZstdCompressor(level=1).compress(raw) if squeeze else raw
    out = with_header(chunks, flags=flags, raw_size=len(raw))
    return [(k, gaus if k == b"GAUS" else p) for k, p in out]


def file_of(
    scheme: str, mode: RenderMode, raw: bytes, count: int, size: tuple[int, int], squeeze: bool = False
) -> bytes:
    """A file around a hand-built payload, with a correct header for it."""
    flags = (FLAG_ALPHA if mode is RenderMode.ALPHA else 0) | (FLAG_ZSTD if squeeze else 0)
    header = _IHDR.pack(2, flags, *size, count, SCHEME_IDS[scheme], 0, len(raw), 4, 16, 64, 1)
    gaus = zstandard.ZstdCompressor(level=1).compress(raw) if squeeze else raw
    return join_chunks([(b"IHDR", header), (b"GAUS", gaus), (b"IEND", b"")])


def seed_files(rng: np.random.Generator) -> list[bytes]:
    """One valid file per scheme and mode (a few with metadata), the starting points of the mutations."""
    files = []
    for name in SCHEMES:
        for mode in RenderMode:
            n = int(rng.integers(8, 120))
            g = Gaussians(
                rng.uniform(-0.05, 1.05, (n, 2)),
                np.abs(rng.normal(0.03, 0.02, (n, 3))),
                rng.normal(0.5, 0.3, (n, 3)),
                rng.uniform(0, 1, n),
                (int(rng.integers(8, 300)), int(rng.integers(8, 300))),
            )
            scheme = get_scheme(name)
            q = scheme.quantize(g, mode, scheme.train(g, mode, min(16, n)))
            files.append(encode_lgi(q, metadata={"seed": name, "n": n} if rng.random() < 0.5 else None))
    return files


# ------------------------------------------------------------------------------------------------ strategies


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _extreme(rng: np.random.Generator, top: int, current: int) -> int:
    return int(_pick(rng, [0, 1, 2, top, top - 1, top // 2, current + 1, max(0, current - 1), rng.integers(top + 1)]))


def _flip_bytes(rng: np.random.Generator, data: bytes, most: int = 6) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, most + 1))):
        if not out:
            break
        pos = int(rng.integers(len(out)))
        action = int(rng.integers(5))
        if action == 0:
            out[pos] = int(rng.integers(256))
        elif action == 1:
            out[pos] ^= 1 << int(rng.integers(8))
        elif action == 2:
            del out[pos : pos + int(rng.integers(1, 5))]
        elif action == 3:
            out[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 5)), dtype=np.uint8))
        else:
            out[pos] = _pick(rng, [0, 1, 0x7F, 0x80, 0xFF])
    return bytes(out)


def header_extremes(rng, seeds):
    chunks = split_chunks(_pick(rng, seeds))
    changes = {}
    for _ in range(int(rng.integers(1, 3))):
        i = int(rng.integers(len(FIELDS)))
        changes[FIELDS[i]] = _extreme(rng, FIELD_MAX[i], header_of(chunks)[i])
    return join_chunks(with_header(chunks, **changes))


def payload_mutation(rng, seeds):
    chunks = split_chunks(_pick(rng, seeds))
    raw = _flip_bytes(rng, raw_payload(chunks))
    return join_chunks(with_payload(chunks, raw, bool(rng.random() < 0.5)))


def container_mutation(rng, seeds):
    """Bytes mutated anywhere, then every chunk's length and CRC repaired where the framing still parses."""
    data = _flip_bytes(rng, _pick(rng, seeds), 3)
    chunks = split_chunks(data)
    return join_chunks(chunks) if chunks and rng.random() < 0.8 else data


def chunk_structure(rng, seeds):
    chunks = split_chunks(_pick(rng, seeds))
    gaus = next(p for k, p in chunks if k == b"GAUS")
    action = int(rng.integers(8))
    i = int(rng.integers(len(chunks)))
    if action == 0:
        chunks.insert(i, chunks[i])
    elif action == 1:
        del chunks[i]
    elif action == 2:
        j = int(rng.integers(len(chunks)))
        chunks[i], chunks[j] = chunks[j], chunks[i]
    elif action == 3:
        kind = _pick(rng, [b"xtra", b"XTRA", b"meta", b"gAUS", b"IHDR", b"IEND", b"GAUS"])
        chunks.insert(i, (kind, bytes(rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8))))
    elif action == 4 and header_of(chunks)[1] & FLAG_ZSTD:  # a second frame, or bytes after the frame
        tail = _pick(rng, [gaus, b"\0", zstandard.ZstdCompressor().compress(b"x" * 10), b"\x50\x2a\x4d\x18\0\0\0\0"])
        chunks = [(k, p + tail if k == b"GAUS" else p) for k, p in chunks]
    elif action == 5 and header_of(chunks)[1] & FLAG_ZSTD:  # a skippable frame first
        chunks = [(k, b"\x50\x2a\x4d\x18\4\0\0\0abcd" + p if k == b"GAUS" else p) for k, p in chunks]
    elif action == 6:
        chunks = with_payload(chunks, raw_payload(chunks) + b"\0" * int(rng.integers(1, 9)), bool(rng.random() < 0.5))
    else:
        chunks = with_header(chunks, flags=header_of(chunks)[1] ^ FLAG_ALPHA)  # the wrong mode for the payload
    return join_chunks(chunks)


def _stream(rng: np.random.Generator, n: int) -> bytes:
    """One entropy-coded stream, often honest, often with a lying count, alphabet, model or word count."""
    kind = int(rng.integers(6)) if rng.random() > 0.02 else 6
    count = int(_pick(rng, [n, n, n, 0, 1, n + 1, max(0, n - 1), 2 * n, 1 << 20, 1 << 26]))
    if kind == 6:  # the largest histogram: a megabyte of counts to read (all symbols are the first one)
        out = bytearray()
        write_varint(count, out)
        out.append(0)  # histogram model
        write_varint(1 << 20, out)
        write_varint(count, out)
        return bytes(out) + b"\0" * ((1 << 20) - 1) + b"\1\0\0\0\0"  # the other counts, one word
    if kind == 0:
        top = int(_pick(rng, [1, 2, 64, 1024, 4096]))
        return encode_categorical(rng.integers(0, top, min(count, 4 * n + 8)))
    if kind == 1:
        size = int(_pick(rng, [2, 64, 4096, 1 << 24]))
        return encode_uniform(rng.integers(0, size, min(count, 4 * n + 8)), size)
    out = bytearray()
    write_varint(count, out)
    if kind == 2:  # uniform model with an extreme alphabet
        write_varint(int(_pick(rng, [0, 1, 2, (1 << 24) + 1, 1 << 30, 2**63 - 1])), out)
    elif kind == 3:  # categorical with an extreme tag or alphabet
        out.append(int(_pick(rng, [0, 1, 2, 3, 255])))
        write_varint(int(_pick(rng, [0, 1, 2, 3, 1024, 1025, (1 << 20) + 1, 1 << 24])), out)
        out += bytes(rng.integers(0, 256, int(rng.integers(0, 24)), dtype=np.uint8))
    elif kind == 4:  # parametric model with extreme numbers
        out += bytes([2])
        write_varint(int(_pick(rng, [2, 64, 1024, 1025])), out)
        floats = [np.nan, np.inf, -np.inf, 0.0, 1e-9, 1e30, -5.0, 3.0, 1.0]
        out += struct.pack("<ffB", _pick(rng, floats), _pick(rng, floats), int(_pick(rng, [0, 1, 2, 3, 5, 30, 31])))
    else:  # a sized stream
        return encode_uniform_sized(rng.integers(0, 2, min(count, 4 * n)), np.full(min(count, 4 * n), 2))
    write_varint(int(_pick(rng, [0, 1, 2, 1 << 26])), out)
    return bytes(out) + bytes(rng.integers(0, 256, 4 * int(rng.integers(0, 4)), dtype=np.uint8))


def _floats(rng: np.random.Generator, count: int, dtype: str) -> bytes:
    out = bytearray()
    values = rng.normal(0, 1, count)
    values[rng.random(count) < 0.1] = _pick(rng, [np.nan, np.inf, -np.inf, 65504.0, 1e30, 0.0])
    write_varint(int(_pick(rng, [count, count, 0, count + 1, 1 << 30])), out)
    with np.errstate(over="ignore"):  # 1e30 as float16 is infinity, on purpose
        return bytes(out) + values.astype(dtype).tobytes()


def hand_built_streams(rng, seeds):
    """A payload assembled from building blocks in roughly the scheme's order, each with a chance to lie."""
    name = _pick(rng, SCHEMES)
    mode = _pick(rng, list(RenderMode))
    n = int(_pick(rng, [0, 1, 2, 7, 64, 300]))
    parts = []
    if name in ("lgi", "lgi-sq", "vq", "gaussianimage"):
        if name == "lgi":
            stages = bytearray()
            write_varint(int(_pick(rng, [1, 1, 2, 0, 9])), stages)
            parts.append(bytes(stages))
        if name == "lgi-sq":
            parts += [_floats(rng, 1, "<f4"), _floats(rng, 12, "<f2")]
        else:
            parts += [_floats(rng, int(_pick(rng, [3, 6, 24, 48, 9 * 4, 8 * 4])), "<f2")]
    if name == "float32":
        cols = 9 if mode is RenderMode.ALPHA else 8
        values = rng.normal(0.3, 0.2, n * cols).astype("<f4")
        values[rng.random(values.size) < 0.05] = _pick(rng, [np.nan, np.inf, 1e30, -1e9])
        parts.append(values.tobytes())
    else:
        if name == "gaussianimage":
            parts += [
                _floats(rng, 24, "<f2"),
                _floats(rng, 24, "<f2"),
                rng.normal(0.5, 0.3, 2 * n).astype("<f2").tobytes(),
            ]
        parts += [_stream(rng, n) for _ in range(int(rng.integers(1, 9)))]
    size = (int(_pick(rng, [1, 2, 16, 256, 32768])), int(_pick(rng, [1, 3, 16, 256, 32768])))
    return file_of(name, mode, b"".join(parts), n, size, bool(rng.random() < 0.3))


_META = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"n":' + b"9" * 5000 + b"}",
    b'{"x":NaN}',
    b'{"x":Infinity}',
    b'{"x":1e999}',
    b"[1,2,3]",
    b'"text"',
    b"\xff\xfe{}",
    b'{"a":"' + b"\\ud800" * 10 + b'"}',
    b'{"a":1,"a":2}',
    b"{" + b'"k":1,' * 10 + b'"z":{}}',
    b'{"s":"' + b"x" * ((1 << 20) - 7) + b'"}',
    b"",
]


def metadata(rng, seeds):
    chunks = split_chunks(_pick(rng, seeds))
    chunks = [(k, p) for k, p in chunks if k != b"meta"]
    body = _pick(rng, _META) if rng.random() < 0.7 else _flip_bytes(rng, json.dumps({"k": [1, 2.5, "é"]}).encode())
    for _ in range(int(_pick(rng, [1, 1, 1, 2]))):
        chunks.insert(len(chunks) - 1, (b"meta", body))
    return join_chunks(chunks)


def declared_work(rng, seeds):
    """Valid files that are cheap to store and dear to render: big canvases, big or many Gaussians."""
    mode = _pick(rng, list(RenderMode))
    n = int(_pick(rng, [1, 100, 2000, 20_000, 100_000]))
    side = int(_pick(rng, [64, 1024, 2048, 9000, 16384, 32768]))
    sigma = float(_pick(rng, [0.001, 0.05, 0.5, 4.0, 60.0]))
    cols = 9 if mode is RenderMode.ALPHA else 8
    row = np.array([0.5, 0.5, sigma, 0.0, sigma, 0.5, 0.4, 0.3, 0.9][:cols], "<f4")
    raw = np.tile(row, n).tobytes()
    return file_of("float32", mode, raw, n, (side, int(_pick(rng, [side, 1, 512]))), squeeze=True)


_BIG: dict[tuple, bytes] = {}


def declared_count(rng, seeds):
    """Valid files holding up to ``MAX_GAUSSIANS`` Gaussians in a few bytes (every symbol the same): what
    reading and rendering cost per declared Gaussian, and the memory it takes."""
    key = (_pick(rng, ["vq", "float32", "lgi-sq"]), _pick(rng, list(RenderMode)), _pick(rng, [100_000, 2_000_000]))
    if key not in _BIG:
        name, mode, n = key
        n = min(n, 200_000) if name == "lgi-sq" else n  # its quantizer is slow to build a case with
        g = Gaussians(
            np.full((n, 2), 0.5),
            np.tile([0.002, 0.0, 0.002], (n, 1)),
            np.full((n, 3), 0.01),
            np.full(n, 0.5),
            (256, 256),
        )
        scheme = get_scheme(name)
        state = scheme.train(g.take(np.arange(64)), mode, 2) if name != "float32" else {}
        _BIG[key] = encode_lgi(scheme.quantize(g, mode, state))
    return _BIG[key]


STRATEGIES: dict[str, Callable] = {
    "header_extremes": header_extremes,
    "payload_mutation": payload_mutation,
    "container_mutation": container_mutation,
    "chunk_structure": chunk_structure,
    "hand_built_streams": hand_built_streams,
    "metadata": metadata,
    "declared_work": declared_work,
    "declared_count": declared_count,
}
WEIGHTS = np.array([2, 5, 2, 2, 4, 1, 1, 0.002], float)


def make_case(rng: np.random.Generator, seeds: list[bytes]) -> tuple[str, bytes]:
    name = list(STRATEGIES)[int(rng.choice(len(STRATEGIES), p=WEIGHTS / WEIGHTS.sum()))]
    return name, STRATEGIES[name](rng, seeds)
