"""The .lgi container: round trips, hostile files, atomic writes, decoding at any size."""

import contextlib
import os
import struct
import zlib

import numpy as np
import pytest
import zstandard

from lgi_kernels import RenderMode
from lgi_studio.core.schemes import SCHEMES, get_scheme
from lgi_studio.io import lgi_format
from lgi_studio.io.errors import OutputWriteError
from lgi_studio.io.lgi_format import SIGNATURE, LgiFormatError, decode_lgi, encode_lgi, read_lgi, write_lgi
from tests.core.test_quantize import gaussians


def quantized(name: str = "lgi", mode: RenderMode = RenderMode.ACCUMULATED_SUM, n: int = 60):
    g = gaussians(n, seed=3)
    scheme = get_scheme(name)
    return scheme.quantize(g, mode, scheme.train(g, mode, 8, seed=0))


def rows(g) -> np.ndarray:
    table = np.concatenate([g.means, g.chol, g.colors, g.opacities[:, None]], axis=1)
    return table[np.lexsort(table.T[::-1])]


@pytest.mark.parametrize("mode", list(RenderMode))
@pytest.mark.parametrize("name", SCHEMES)
def test_round_trip_gives_exactly_the_gaussians_written(tmp_path, name, mode):
    q = quantized(name, mode)
    path = tmp_path / "x.lgi"
    size = write_lgi(path, q, metadata={"note": "hi"})
    f = read_lgi(path)
    assert size == f.file_bytes == path.stat().st_size
    assert f.header.count == q.n
    assert f.header.scheme == name
    assert f.header.mode is mode
    assert f.metadata == {"note": "hi"}
    np.testing.assert_array_equal(rows(f.gaussians()), rows(get_scheme(name).dequantize(q)))


@pytest.mark.parametrize("name", SCHEMES)
def test_container_overhead_is_at_most_64_bytes(name):
    q = quantized(name)
    data = encode_lgi(q)
    assert len(data) - decode_lgi(data).payload_bytes <= 64


def test_truncation_at_every_length_is_refused():
    data = encode_lgi(quantized(n=20))
    for cut in range(len(data)):
        with pytest.raises(LgiFormatError):
            decode_lgi(data[:cut])


def test_every_single_byte_flip_is_refused():
    data = encode_lgi(quantized(n=12))
    for pos in range(len(data)):
        mutated = bytearray(data)
        mutated[pos] ^= 0xFF
        with pytest.raises(LgiFormatError):
            decode_lgi(bytes(mutated))


def test_mutation_fuzz_allows_only_the_format_error():
    """Random multi-byte mutations, insertions and deletions (seeded, bounded): nothing but LgiFormatError."""
    rng = np.random.default_rng(2024)
    seeds = [encode_lgi(quantized(name, mode, n=16)) for name in SCHEMES for mode in RenderMode]
    cases = 0
    for _ in range(3000):
        data = bytearray(seeds[rng.integers(len(seeds))])
        for _ in range(rng.integers(1, 4)):
            pos = int(rng.integers(len(data)))
            action = rng.integers(3)
            if action == 0:
                data[pos] = int(rng.integers(256))
            elif action == 1:
                del data[pos]
            else:
                data.insert(pos, int(rng.integers(256)))
        with contextlib.suppress(LgiFormatError):
            decode_lgi(bytes(data))
        cases += 1
    assert cases == 3000


def _with_chunk(data: bytes, kind: bytes, payload: bytes, before: bytes = b"IEND") -> bytes:
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    at = data.rindex(before) - 4
    return data[:at] + chunk + data[at:]


def test_unknown_ancillary_chunks_are_skipped_and_critical_ones_refused():
    data = encode_lgi(quantized())
    assert decode_lgi(_with_chunk(data, b"xtra", b"anything")).header.count == 60
    with pytest.raises(LgiFormatError, match="unknown critical chunk XTRA"):
        decode_lgi(_with_chunk(data, b"XTRA", b"anything"))


def test_trailing_garbage_is_refused():
    with pytest.raises(LgiFormatError, match="trailing data"):
        decode_lgi(encode_lgi(quantized()) + b"junk")


def test_wrong_signature_and_version_are_refused():
    data = encode_lgi(quantized())
    with pytest.raises(LgiFormatError, match="wrong signature"):
        decode_lgi(b"\x89PNG\r\n\x1a\n" + data[8:])
    with pytest.raises(LgiFormatError, match="format version 9 is not supported"):
        decode_lgi(_with_version(data, 9))


def _with_version(data: bytes, version: int) -> bytes:
    """``data`` with its header's version byte replaced (and the header's CRC recomputed)."""
    header = bytearray(data[16:36])
    header[0] = version
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return data[:8] + struct.pack(">I", 20) + b"IHDR" + bytes(header) + crc + data[8 + 32 :]


def test_version_1_files_are_still_read():
    data = encode_lgi(quantized("float32"))  # no categorical stream: its bytes are also a valid version-1 file
    assert data[16] == lgi_format.VERSION == 2
    old = decode_lgi(_with_version(data, 1))
    assert old.header.version == 1
    np.testing.assert_array_equal(old.gaussians().means, decode_lgi(data).gaussians().means)


def _rebuild(width=64, height=48, count=10, raw_size=100, flags=lgi_format.FLAG_ZSTD, gaus=b"", scheme=3) -> bytes:
    header = lgi_format._IHDR.pack(1, flags, width, height, count, scheme, 0, raw_size, 4, 16, 32, 1)
    return (
        SIGNATURE
        + lgi_format._chunk(b"IHDR", header)
        + lgi_format._chunk(b"GAUS", gaus)
        + lgi_format._chunk(b"IEND", b"")
    )


def test_zstd_bomb_stops_at_the_declared_size():
    bomb = zstandard.ZstdCompressor().compress(b"\0" * 50_000_000)
    with pytest.raises(LgiFormatError, match="expands beyond its declared size"):
        decode_lgi(_rebuild(raw_size=1000, gaus=bomb))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "outside 1..32768"),
        ({"count": 10**9}, "more than the"),
        ({"raw_size": 2**31}, "implausible"),
        ({"scheme": 77}, "unknown quantization scheme"),
        ({"flags": 0x80}, "unknown header flags"),
    ],
)
def test_header_limits_are_checked_before_anything_is_allocated(kwargs, message):
    with pytest.raises(LgiFormatError, match=message):
        decode_lgi(_rebuild(**kwargs))


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(LgiFormatError, match="No such file"):
        read_lgi(tmp_path / "absent.lgi")


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "x.lgi"
    path.write_bytes(b"previous version")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OutputWriteError, match="No space left on device"):
        write_lgi(path, quantized())
    assert path.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == ["x.lgi"]


def test_writing_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(OutputWriteError, match="cannot write"):
        write_lgi(tmp_path / "nope" / "x.lgi", quantized())


def test_decode_at_other_sizes_equals_the_kernel_render():
    from lgi_kernels import RasterSettings, floor_for_zoom, rasterize_forward

    f = decode_lgi(encode_lgi(quantized()))
    g = f.gaussians()
    big = g.render(128, 96)
    expected, _ = rasterize_forward(*g.arrays(), RasterSettings(128, 96, cov_floor=floor_for_zoom(0.25, 2.0)))
    np.testing.assert_array_equal(big, expected)
    assert g.render().shape == (48, 64, 3)
