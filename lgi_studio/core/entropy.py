"""Entropy coding of integer streams with constriction's range coder.

A stream is self-describing: its length and its model come first, then the range-coded words. A categorical
stream's model is whichever of three costs the fewest bits: its histogram (the symbol counts as LEB128
varints), three numbers of a discretized Student-t (``parametric_counts``: a histogram of a few hundred
symbols costs ~1-3 bits per symbol over a few thousand, the three numbers ~80 bits in all), or uniform. Either
way the decoder rebuilds exact integer counts, hence the very same float32 model the encoder used. Decoding
checks every length against what is left, every count against what the caller expects (before decoding a
single symbol: a stream cannot make the decoder do more work than its header allows) and every model against
what the coder accepts (a bad one would panic in Rust, which Python cannot catch); anything malformed raises
``EntropyError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import constriction
import numpy as np

Categorical = constriction.stream.model.Categorical
Uniform = constriction.stream.model.Uniform
RangeEncoder = constriction.stream.queue.RangeEncoder
RangeDecoder = constriction.stream.queue.RangeDecoder

MAX_SYMBOLS = 1 << 26
MAX_ALPHABET = 1 << 20
MAX_UNIFORM = 1 << 24
"""Largest alphabet constriction's ``Uniform`` model takes (its 24-bit precision); larger ones panic in Rust."""
PARAMETRIC_MAX_ALPHABET = 1024
"""Larger alphabets keep a histogram or the uniform model: the model search grows with the alphabet (~10 ms
at 1024, ~100 ms at 4096, too slow for the codebook slider)."""
TAILS = (1, 2, 3, 5, 10, 30)
"""Shapes of the parametric model: Student-t with 2 * tail - 1 degrees of freedom (1: Cauchy; 30: ~Gaussian)."""
_RESOLUTION = float(1 << 16)
_PARAMS = struct.Struct("<ffB")  # centre, scale (float32), tail


class EntropyError(ValueError):
    """A coded stream is malformed or truncated."""


def write_varint(value: int, out: bytearray) -> None:
    """Append an unsigned LEB128 varint."""
    if value < 0:
        msg = f"varints are unsigned, got {value}"
        raise ValueError(msg)
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 varint at ``pos``; returns (value, new position)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            msg = "truncated varint"
            raise EntropyError(msg)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            msg = "varint too long"
            raise EntropyError(msg)


def _words(encoder: RangeEncoder, out: bytearray) -> bytes:
    words = encoder.get_compressed()
    write_varint(len(words), out)
    out += words.astype("<u4").tobytes()
    return bytes(out)


def _read_words(data: bytes, pos: int) -> tuple[np.ndarray, int]:
    n_words, pos = read_varint(data, pos)
    end = pos + 4 * n_words
    if n_words > MAX_SYMBOLS or end > len(data):
        msg = "coded stream is truncated"
        raise EntropyError(msg)
    return np.frombuffer(data[pos:end], dtype="<u4").astype(np.uint32), end


def _categorical(counts: np.ndarray) -> Categorical:
    return Categorical((counts / counts.sum()).astype(np.float32), perfect=False)


def encode_categorical(symbols: np.ndarray) -> bytes:
    """Code non-negative integers with the cheapest of three models: their own histogram, a discretized
    Student-t (three numbers), or uniform over the alphabet (k-means indices are close to uniform; a histogram
    of a large, evenly used alphabet costs more than it saves)."""
    symbols = np.asarray(symbols, dtype=np.int32).ravel()
    out = bytearray()
    write_varint(len(symbols), out)
    if len(symbols) == 0:
        return bytes(out)
    counts = np.bincount(symbols, minlength=2)  # a one-symbol alphabet has no distribution to code with
    alphabet = bytearray()
    write_varint(len(counts), alphabet)
    histogram = bytearray(alphabet)
    for c in counts:
        write_varint(int(c), histogram)
    # estimated size of each choice after the tag byte: side data plus the symbols under the model
    bits = {
        _HISTOGRAM: 8 * len(histogram) + _model_bits(counts, counts),
        _UNIFORM: 8 * len(alphabet) + len(symbols) * np.log2(len(counts)),
    }
    params = fit_parametric(counts) if len(counts) <= PARAMETRIC_MAX_ALPHABET else None
    if params is not None:
        model = parametric_counts(len(counts), *params)
        bits[_PARAMETRIC] = 8 * (len(alphabet) + _PARAMS.size) + _model_bits(counts, model)
    tag = min(bits, key=bits.__getitem__)
    out.append(tag)
    encoder = RangeEncoder()
    if tag == _PARAMETRIC:
        out += alphabet + _PARAMS.pack(*params)
        encoder.encode(symbols, _categorical(model))
    elif tag == _UNIFORM:
        out += alphabet
        encoder.encode(symbols, Uniform(len(counts)))
    else:
        out += histogram
        encoder.encode(symbols, _categorical(counts))
    return _words(encoder, out)


_HISTOGRAM = 0
_UNIFORM = 1
_PARAMETRIC = 2


def parametric_counts(alphabet: int, centre: float | np.ndarray, scale: float | np.ndarray, tail: int) -> np.ndarray:
    """Integer frequencies over [0, alphabet) of a Student-t with 2 * tail - 1 degrees of freedom, at least 1
    each (so any symbol stays codable). ``centre`` and ``scale`` may be [C, 1] arrays: then [C, alphabet].

    One IEEE 754 operation at a time, each exactly rounded, in the order docs/lgi-format.md gives: the encoder
    and any decoder, on any machine, build the same integers from the same three numbers.
    """
    u = (np.arange(alphabet, dtype=np.float64) - np.float64(centre)) / np.float64(scale)
    base = 1.0 / (1.0 + u * u / float(2 * tail - 1))
    weight = base
    for _ in range(tail - 1):
        weight = weight * base
    return 1 + np.floor(weight * _RESOLUTION).astype(np.int64)


def parametric_model_ok(alphabet: int, centre: float, scale: float, tail: int) -> bool:
    """Whether a reader accepts these parameters (the writer only uses ones that pass)."""
    return (
        2 <= alphabet <= PARAMETRIC_MAX_ALPHABET
        and tail in TAILS
        and bool(np.isfinite(centre) and abs(centre) <= 4 * alphabet)
        and bool(np.isfinite(scale) and 1e-3 <= scale <= 4 * alphabet)
    )


def _model_bits(counts: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Bits to code symbols with these ``counts`` under the integer ``model`` ([A] or [C, A] for C models)."""
    used = counts > 0
    total = np.log2(model.sum(axis=-1))
    return counts.sum() * total - (np.log2(model[..., used]) * counts[used]).sum(axis=-1)


def fit_parametric(counts: np.ndarray) -> tuple[float, float, int] | None:
    """(centre, scale, tail) of the parametric model that codes ``counts`` in the fewest bits, or None if no
    candidate is one a reader accepts.

    A coarse grid over every tail, centre and scale around the data's median and spread, then two finer grids
    around the best: vectorized over the candidates, a few milliseconds for the alphabets seen in files.
    """
    cdf = np.cumsum(counts) / counts.sum()
    q1, median, q3 = (float(np.searchsorted(cdf, f)) for f in (0.25, 0.5, 0.75))
    spread = max(0.5, (q3 - q1) / 2.0)
    best = min(_grid(counts, median, spread, spread, 2.0, tail) for tail in TAILS)
    for step in (0.25, 0.06):
        _, centre, scale, tail = best
        best = _grid(counts, centre, scale * step * 4, scale, 2.0 ** (step * 2), tail)
    _, centre, scale, tail = best
    params = (float(np.float32(centre)), float(np.float32(scale)), tail)
    return params if parametric_model_ok(len(counts), *params) else None


def _grid(
    counts: np.ndarray, centre: float, centre_span: float, scale: float, scale_span: float, tail: int
) -> tuple[float, float, float, int]:
    """(bits, centre, scale, tail) of the best of 9 x 9 candidates: centres within +-centre_span, scales within a
    factor scale_span."""
    centres = centre + centre_span * np.linspace(-1.0, 1.0, 9)
    scales = scale * scale_span ** np.linspace(-1.0, 1.0, 9)
    cc, ss = (a.ravel()[:, None] for a in np.meshgrid(centres, scales))
    bits = _model_bits(counts, parametric_counts(len(counts), cc, ss, tail))
    i = int(np.argmin(bits))
    return float(bits[i]), float(cc[i, 0]), float(ss[i, 0]), tail


def _read_count(data: bytes, pos: int, expected: int | None) -> tuple[int, int]:
    """A stream's symbol count, refused before any decoding when it is not the one the caller expects."""
    n, pos = read_varint(data, pos)
    if n > MAX_SYMBOLS:
        msg = f"stream claims {n} symbols, more than the {MAX_SYMBOLS} allowed"
        raise EntropyError(msg)
    if expected is not None and n != expected:
        msg = f"stream claims {n} symbols where {expected} are expected"
        raise EntropyError(msg)
    return n, pos


def decode_categorical(data: bytes, pos: int = 0, count: int | None = None) -> tuple[np.ndarray, int]:
    """Inverse of ``encode_categorical``; returns (symbols, position after the stream). ``count``: the number
    of symbols the caller expects (checked before decoding)."""
    n, pos = _read_count(data, pos, count)
    if n == 0:
        return np.zeros(0, np.int32), pos
    if pos >= len(data) or data[pos] not in (_HISTOGRAM, _UNIFORM, _PARAMETRIC):
        msg = "stream model tag is missing or unknown"
        raise EntropyError(msg)
    tag = data[pos]
    alphabet, pos = read_varint(data, pos + 1)
    if not 2 <= alphabet <= MAX_ALPHABET:
        msg = f"stream alphabet of {alphabet} symbols is out of range"
        raise EntropyError(msg)
    if tag == _UNIFORM:
        words, pos = _read_words(data, pos)
        return _decode(words, lambda: Uniform(alphabet), n), pos
    if tag == _PARAMETRIC:
        counts, pos = _read_parametric(data, pos, alphabet)
    else:
        counts, pos = _read_histogram(data, pos, alphabet, n)
    words, pos = _read_words(data, pos)
    return _decode(words, lambda: _categorical(counts), n), pos


def _read_histogram(data: bytes, pos: int, alphabet: int, n: int) -> tuple[np.ndarray, int]:
    """``alphabet`` varint counts, vectorized: a 2^20-symbol histogram is a million varints, too many for a
    Python loop on every stream of a hostile file."""
    counts, pos = read_varints(data, pos, alphabet)
    counts = np.minimum(counts, n + 1)  # any count above n already breaks the sum; capped, it cannot overflow
    if int(counts.sum()) != n:
        msg = "stream histogram does not match its length"
        raise EntropyError(msg)
    return counts.astype(np.int64), pos


def read_varints(data: bytes, pos: int, count: int) -> tuple[np.ndarray, int]:
    """``count`` unsigned LEB128 varints at ``pos`` as uint64 (values past 2^64 - 1 saturate there, where
    ``read_varint`` would return them exactly); returns (values, new position)."""
    buf = np.frombuffer(data, np.uint8, count=max(0, min(len(data) - pos, 10 * count + 1)), offset=min(pos, len(data)))
    ends = np.flatnonzero(buf < 0x80)[:count]
    if len(ends) < count:
        msg = "truncated varint"
        raise EntropyError(msg)
    if count == 0:
        return np.zeros(0, np.uint64), pos
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if int(lengths.max()) > 10:
        msg = "varint too long"
        raise EntropyError(msg)
    stop = int(ends[-1]) + 1
    shifts = ((np.arange(stop) - np.repeat(starts, lengths)) * 7).astype(np.uint64)
    parts = (buf[:stop].astype(np.uint64) & np.uint64(0x7F)) << shifts
    values = np.bitwise_or.reduceat(parts, starts)
    values[(lengths == 10) & (buf[ends] > 1)] = np.iinfo(np.uint64).max  # bits beyond the 64th
    return values, pos + stop


def _read_parametric(data: bytes, pos: int, alphabet: int) -> tuple[np.ndarray, int]:
    if pos + _PARAMS.size > len(data):
        msg = "parametric stream model is truncated"
        raise EntropyError(msg)
    centre, scale, tail = _PARAMS.unpack_from(data, pos)
    if not parametric_model_ok(alphabet, centre, scale, tail):
        msg = f"parametric stream model is out of range (alphabet {alphabet}, {centre}, {scale}, {tail})"
        raise EntropyError(msg)
    return parametric_counts(alphabet, centre, scale, tail), pos + _PARAMS.size


def encode_uniform(symbols: np.ndarray, size: int) -> bytes:
    """Code integers in [0, size) at log2(size) bits each (no histogram to send)."""
    symbols = np.asarray(symbols, dtype=np.int32).ravel()
    out = bytearray()
    write_varint(len(symbols), out)
    write_varint(size, out)
    if len(symbols) == 0:
        return bytes(out)
    encoder = RangeEncoder()
    encoder.encode(symbols, Uniform(size))
    return _words(encoder, out)


def decode_uniform(
    data: bytes, pos: int = 0, count: int | None = None, size: int | None = None
) -> tuple[np.ndarray, int]:
    """Inverse of ``encode_uniform``. ``count`` and ``size``: the symbol count and alphabet the caller
    expects (checked before decoding; a stream that differs would not re-encode to itself)."""
    n, pos = _read_count(data, pos, count)
    alphabet, pos = read_varint(data, pos)
    if not 2 <= alphabet <= MAX_UNIFORM:
        msg = f"uniform stream alphabet of {alphabet} symbols is out of range"
        raise EntropyError(msg)
    if size is not None and alphabet != size:
        msg = f"uniform stream alphabet of {alphabet} symbols does not match the {size} the header declares"
        raise EntropyError(msg)
    if n == 0:
        return np.zeros(0, np.int32), pos
    words, pos = _read_words(data, pos)
    return _decode(words, lambda: Uniform(alphabet), n), pos


def encode_uniform_sized(symbols: np.ndarray, sizes: np.ndarray) -> bytes:
    """Code each symbol uniformly over its own alphabet size (every size must be at least 2)."""
    out = bytearray()
    write_varint(len(symbols), out)
    if len(symbols) == 0:
        return bytes(out)
    encoder = RangeEncoder()
    encoder.encode(np.asarray(symbols, np.int32), Uniform(), np.asarray(sizes, np.int32))
    return _words(encoder, out)


def decode_uniform_sized(data: bytes, pos: int, sizes: np.ndarray) -> tuple[np.ndarray, int]:
    """Inverse of ``encode_uniform_sized``; ``sizes`` come from data decoded earlier."""
    n, pos = read_varint(data, pos)
    sizes = np.asarray(sizes, np.int64)
    if n != len(sizes) or (n and (sizes.min() < 2 or sizes.max() > MAX_UNIFORM)):
        msg = "sized stream does not match what precedes it"
        raise EntropyError(msg)
    if n == 0:
        return np.zeros(0, np.int32), pos
    words, pos = _read_words(data, pos)
    return _decode(words, Uniform, sizes.astype(np.int32)), pos


def _decode(words: np.ndarray, make_model: Callable[[], object], amount: int | np.ndarray) -> np.ndarray:
    """Build the model and decode, turning any failure of the coder into ``EntropyError``. The callers check
    every model's parameters first: a Rust panic is caught here too, but only after it printed to stderr."""
    try:
        return RangeDecoder(words).decode(make_model(), amount).astype(np.int32)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        msg = f"coded stream is corrupt ({exc})"
        raise EntropyError(msg) from exc
