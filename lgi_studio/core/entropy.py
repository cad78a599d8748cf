"""Entropy coding of integer streams with constriction's range coder.

A stream is self-describing: its length and, for categorical streams, the symbol counts (as LEB128
varints) come first, then the range-coded words. Counts are exact integers, so the decoder rebuilds the
very same float32 model the encoder used. Decoding checks every length against what is left and raises
``EntropyError`` on anything malformed.
"""

from __future__ import annotations

import constriction
import numpy as np

Categorical = constriction.stream.model.Categorical
Uniform = constriction.stream.model.Uniform
RangeEncoder = constriction.stream.queue.RangeEncoder
RangeDecoder = constriction.stream.queue.RangeDecoder

MAX_SYMBOLS = 1 << 26
MAX_ALPHABET = 1 << 20


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
    """Code non-negative integers, with their own histogram as the model when that pays for itself,
    else uniformly over the alphabet (k-means indices are close to uniform; a histogram of a large,
    evenly used alphabet costs more than it saves)."""
    symbols = np.asarray(symbols, dtype=np.int32).ravel()
    out = bytearray()
    write_varint(len(symbols), out)
    if len(symbols) == 0:
        return bytes(out)
    counts = np.bincount(symbols, minlength=2)  # a one-symbol alphabet has no distribution to code with
    histogram = bytearray()
    write_varint(len(counts), histogram)
    for c in counts:
        write_varint(int(c), histogram)
    p = counts[counts > 0] / len(symbols)
    modelled_bits = 8 * len(histogram) - len(symbols) * float((p * np.log2(p)).sum())
    if len(counts) > 1 and modelled_bits >= len(symbols) * np.log2(len(counts)):
        out.append(_UNIFORM)
        write_varint(len(counts), out)
        encoder = RangeEncoder()
        encoder.encode(symbols, Uniform(len(counts)))
        return _words(encoder, out)
    out.append(_HISTOGRAM)
    out += histogram
    encoder = RangeEncoder()
    encoder.encode(symbols, _categorical(counts))
    return _words(encoder, out)


_HISTOGRAM = 0
_UNIFORM = 1


def decode_categorical(data: bytes, pos: int = 0) -> tuple[np.ndarray, int]:
    """Inverse of ``encode_categorical``; returns (symbols, position after the stream)."""
    n, pos = read_varint(data, pos)
    if n > MAX_SYMBOLS:
        msg = f"stream claims {n} symbols, more than the {MAX_SYMBOLS} allowed"
        raise EntropyError(msg)
    if n == 0:
        return np.zeros(0, np.int32), pos
    if pos >= len(data) or data[pos] not in (_HISTOGRAM, _UNIFORM):
        msg = "stream model tag is missing or unknown"
        raise EntropyError(msg)
    tag = data[pos]
    alphabet, pos = read_varint(data, pos + 1)
    if not 2 <= alphabet <= MAX_ALPHABET:
        msg = f"stream alphabet of {alphabet} symbols is out of range"
        raise EntropyError(msg)
    if tag == _UNIFORM:
        words, pos = _read_words(data, pos)
        return _decode(words, Uniform(alphabet), n), pos
    counts = np.zeros(alphabet, np.int64)
    for k in range(alphabet):
        counts[k], pos = read_varint(data, pos)
    if counts.sum() != n:
        msg = "stream histogram does not match its length"
        raise EntropyError(msg)
    words, pos = _read_words(data, pos)
    return _decode(words, _categorical(counts), n), pos


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


def decode_uniform(data: bytes, pos: int = 0) -> tuple[np.ndarray, int]:
    n, pos = read_varint(data, pos)
    size, pos = read_varint(data, pos)
    if n > MAX_SYMBOLS or not 1 <= size <= 1 << 30:
        msg = "uniform stream header is out of range"
        raise EntropyError(msg)
    if n == 0:
        return np.zeros(0, np.int32), pos
    words, pos = _read_words(data, pos)
    return _decode(words, Uniform(size), n), pos


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
    if n != len(sizes) or np.any(np.asarray(sizes) < 2):
        msg = "sized stream does not match what precedes it"
        raise EntropyError(msg)
    if n == 0:
        return np.zeros(0, np.int32), pos
    words, pos = _read_words(data, pos)
    return _decode(words, Uniform(), np.asarray(sizes, np.int32)), pos


def _decode(words: np.ndarray, model, amount) -> np.ndarray:
    """Decode, turning any failure of the coder (including a Rust panic) into ``EntropyError``."""
    try:
        return RangeDecoder(words).decode(model, amount).astype(np.int32)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        msg = f"coded stream is corrupt ({exc})"
        raise EntropyError(msg) from exc
