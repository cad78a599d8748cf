"""Positions on their grid as Morton codes, sorted and delta-coded: the sum mode's order-free storage."""

from __future__ import annotations

import numpy as np

from ..entropy import decode_categorical, decode_uniform_sized, encode_categorical, encode_uniform_sized
from .base import SchemeError


def morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Interleave the bits of two non-negative int arrays (x in even bits): Z-order codes, int64."""
    code = np.zeros(len(x), np.int64)
    x = x.astype(np.int64)
    y = y.astype(np.int64)
    for bit in range(31):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((y >> bit) & 1) << (2 * bit + 1)
    return code


def unmorton(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros(len(code), np.int64)
    y = np.zeros(len(code), np.int64)
    for bit in range(31):
        x |= ((code >> (2 * bit)) & 1) << bit
        y |= ((code >> (2 * bit + 1)) & 1) << bit
    return x, y


def encode_sorted_codes(codes: np.ndarray) -> bytes:
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


def decode_sorted_codes(data: bytes, pos: int, n: int) -> tuple[np.ndarray, int]:
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
