"""Categorical streams: the cheapest model is chosen, every model round-trips, hostile models are refused."""

import struct

import numpy as np
import pytest

from lgi_studio.core.entropy import (
    EntropyError,
    decode_categorical,
    encode_categorical,
    parametric_counts,
    write_varint,
)

TAG_OFFSET = 2  # after the varint count, for fewer than 16384 symbols


def histogram_model_bits(symbols: np.ndarray) -> float:
    """What tag 0 would cost: its varint counts plus the symbols' empirical entropy."""
    counts = np.bincount(symbols)
    side = bytearray()
    write_varint(len(counts), side)
    for c in counts:
        write_varint(int(c), side)
    p = counts[counts > 0] / len(symbols)
    return 8 * len(side) - len(symbols) * float((p * np.log2(p)).sum())


def test_parametric_counts_follow_the_documented_formula():
    # u = -2..2, (1 + u^2)^-1 = 0.2, 0.5, 1, 0.5, 0.2 of 2^16, plus one
    np.testing.assert_array_equal(parametric_counts(5, 2.0, 1.0, 1), [13108, 32769, 65537, 32769, 13108])
    # tail 2: (1 + u^2 / 3)^-2 at u = 0, 3 -> 1, 1/16
    np.testing.assert_array_equal(parametric_counts(4, 0.0, 1.0, 2)[[0, 3]], [65537, 4097])


def test_bell_shaped_streams_take_the_parametric_model_and_beat_their_histogram():
    rng = np.random.default_rng(0)
    symbols = np.clip(np.round(40 + 6 * rng.standard_t(5, 700)), 0, None).astype(np.int32)
    data = encode_categorical(symbols)
    assert data[TAG_OFFSET] == 2
    decoded, end = decode_categorical(data)
    np.testing.assert_array_equal(decoded, symbols)
    assert end == len(data)
    assert 8 * len(data) < histogram_model_bits(symbols)


def test_zigzag_residuals_and_far_outliers_round_trip():
    rng = np.random.default_rng(1)
    t = np.round(rng.laplace(0.0, 4.0, 2000)).astype(np.int64)
    symbols = np.where(t >= 0, 2 * t, -2 * t - 1)
    symbols[17] = 1000  # far in the tail: must stay codable
    data = encode_categorical(symbols)
    assert data[TAG_OFFSET] == 2
    np.testing.assert_array_equal(decode_categorical(data)[0], symbols)


def test_evenly_used_alphabets_stay_uniform():
    symbols = np.random.default_rng(2).integers(0, 256, 3000)
    data = encode_categorical(symbols)
    assert data[TAG_OFFSET] == 1
    np.testing.assert_array_equal(decode_categorical(data)[0], symbols)


def _parametric_stream(alphabet: int, centre: float, scale: float, tail: int) -> bytes:
    out = bytearray()
    write_varint(10, out)
    out.append(2)
    write_varint(alphabet, out)
    out += struct.pack("<ffB", centre, scale, tail)
    write_varint(1, out)
    return bytes(out + b"\0\0\0\1")


@pytest.mark.parametrize(
    ("alphabet", "centre", "scale", "tail"),
    [
        (5000, 1.0, 1.0, 1),  # alphabet beyond the parametric limit
        (10, 1.0, float("nan"), 1),
        (10, 1.0, 0.0, 1),
        (10, 1.0, -2.0, 1),
        (10, float("inf"), 1.0, 1),
        (10, 1e9, 1.0, 1),
        (10, 1.0, 1.0, 4),  # not one of the tails
        (10, 1.0, 1.0, 0),
    ],
)
def test_hostile_parametric_models_are_refused(alphabet, centre, scale, tail):
    with pytest.raises(EntropyError, match="parametric stream model is out of range"):
        decode_categorical(_parametric_stream(alphabet, centre, scale, tail))


def test_truncated_parametric_model_is_refused():
    data = _parametric_stream(10, 1.0, 1.0, 1)
    with pytest.raises(EntropyError, match="truncated"):
        decode_categorical(data[:8])


def test_mutated_streams_raise_only_entropy_errors():
    """Below the container's CRCs: random byte changes to coded streams of every model (seeded)."""
    rng = np.random.default_rng(3)
    bell = np.clip(np.round(30 + 5 * rng.standard_t(3, 400)), 0, None)
    seeds = [encode_categorical(x) for x in (bell, rng.integers(0, 64, 400), np.repeat([0, 20, 5], [200, 100, 3]))]
    assert {s[TAG_OFFSET] for s in seeds} == {0, 1, 2}
    for _ in range(2000):
        data = bytearray(seeds[rng.integers(len(seeds))])
        for _ in range(rng.integers(1, 4)):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        try:
            decoded, _ = decode_categorical(bytes(data))
        except EntropyError:
            continue
        assert decoded.dtype == np.int32


def test_histogram_counts_beyond_the_stream_length_are_refused():
    out = bytearray()
    write_varint(10, out)
    out.append(0)
    write_varint(2, out)
    write_varint(1 << 63, out)  # would overflow the count array
    write_varint(0, out)
    with pytest.raises(EntropyError, match="histogram does not match"):
        decode_categorical(bytes(out))


def test_a_histogram_of_the_largest_alphabet_reads_quickly_and_exactly():
    """2^20 varint counts (a hostile file may hold several such streams): vectorized, not a Python loop."""
    from lgi_studio.core.entropy import MAX_ALPHABET, read_varint, read_varints

    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**40, MAX_ALPHABET)
    values[:5] = [0, 127, 128, 2**56 - 1, 16384]
    data = bytearray(b"x")
    for v in values:
        write_varint(int(v), data)
    decoded, end = read_varints(bytes(data), 1, MAX_ALPHABET)
    np.testing.assert_array_equal(decoded, values.astype(np.uint64))
    assert end == len(data)
    first, pos = read_varints(bytes(data), 1, 3)
    np.testing.assert_array_equal(first, [0, 127, 128])
    assert pos == read_varint(bytes(data), read_varint(bytes(data), read_varint(bytes(data), 1)[1])[1])[1]


@pytest.mark.parametrize(("data", "message"), [(b"\x80\x80", "truncated"), (b"\xff" * 10 + b"\x01", "too long")])
def test_malformed_varints_are_refused(data, message):
    from lgi_studio.core.entropy import read_varints

    with pytest.raises(EntropyError, match=message):
        read_varints(data, 0, 1)
    assert read_varints(b"\xff" * 9 + b"\x7f", 0, 1)[0][0] == np.iinfo(np.uint64).max  # saturates
