"""Hostile .lgi files (issue 17): crafted with every length and CRC recomputed, so they reach the parsers."""

import json
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zstandard

from lgi_kernels import RenderMode
from lgi_studio import cli
from lgi_studio.core.entropy import EntropyError, decode_categorical, decode_uniform, write_varint
from lgi_studio.io import lgi_format
from lgi_studio.io.lgi_format import LgiFormatError, RenderLimitError, decode_lgi, encode_lgi, read_lgi
from lgi_studio.io.render_limits import GAUSSIAN_WORK, MAX_RENDER_WORK, render_work
from tests.io.test_lgi_format import quantized

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fuzz_cases import file_of, header_of, join_chunks, raw_payload, split_chunks, with_header, with_payload


def refused(data: bytes, match: str) -> None:
    with pytest.raises(LgiFormatError, match=match):
        decode_lgi(data)


# defect 1: an alphabet the range coder would panic on -------------------------------------------------------


def test_sum_mode_file_with_its_alpha_flag_set_is_refused_not_a_panic():
    chunks = split_chunks(encode_lgi(quantized("gaussianimage")))
    refused(join_chunks(with_header(chunks, flags=header_of(chunks)[1] | lgi_format.FLAG_ALPHA)), "corrupt")


@pytest.mark.parametrize("alphabet", [0, 1, (1 << 24) + 1, 1 << 30])
def test_uniform_streams_with_an_alphabet_the_coder_cannot_take_are_refused(alphabet):
    data = bytearray()
    for value in (3, alphabet, 1):
        write_varint(value, data)
    with pytest.raises(EntropyError, match="out of range"):
        decode_uniform(bytes(data) + b"\0\0\0\0")


# defect 2: NaN and infinity ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e30])
def test_non_finite_or_huge_parameters_are_refused_by_the_reader(value):
    g = np.tile(np.array([0.5, 0.5, 0.05, 0.0, 0.05, 0.5, 0.5, 0.5], "<f4"), (4, 1))
    g[2, 3] = value
    refused(file_of("float32", RenderMode.ACCUMULATED_SUM, g.tobytes(), 4, (32, 32)), "not finite or not within")


def test_a_codebook_holding_infinity_is_refused():
    chunks = split_chunks(encode_lgi(quantized("vq")))
    raw = bytearray(raw_payload(chunks))
    raw[3:5] = np.array([np.inf], "<f2").tobytes()  # the first codebook value, after its varint count
    refused(join_chunks(with_payload(chunks, bytes(raw), squeeze=True)), "NaN or infinity")


# defect 3 and the one-meta rule ----------------------------------------------------------------------------


def _with_meta(body: bytes, copies: int = 1) -> bytes:
    chunks = split_chunks(encode_lgi(quantized()))
    return join_chunks(chunks[:-1] + [(b"meta", body)] * copies + chunks[-1:])


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"n":' + b"9" * 5000 + b"}"],
    ids=["deep-list", "deep-object", "huge-integer"],
)
def test_hostile_metadata_json_is_a_format_error(body):
    refused(_with_meta(body), "metadata chunk is not valid JSON")


@pytest.mark.parametrize("body", [b'{"psnr":Infinity}', b'{"psnr":NaN}', b'{"psnr":1e999}'])
def test_metadata_with_non_finite_numbers_is_refused_because_json_has_none(body):
    refused(_with_meta(body), "not valid JSON")


def test_two_meta_chunks_are_refused():
    refused(_with_meta(json.dumps({"a": 1}).encode(), copies=2), "more than one meta chunk")


# defect 4: alpha positions off the grid ------------------------------------------------------------------


def _narrowed_alpha_file() -> bytes:
    """An alpha-mode lgi file whose header's width shrank 64 -> 16: its position streams keep the old grid."""
    chunks = split_chunks(encode_lgi(quantized("lgi", RenderMode.ALPHA)))
    return join_chunks(with_header(chunks, width=16))


def test_alpha_positions_off_the_grid_are_refused_so_info_can_re_encode_them():
    refused(_narrowed_alpha_file(), "uniform stream alphabet of 283 symbols does not match the 72 the header declares")


def test_lgi_info_says_a_stream_alphabet_disagrees_with_the_header_not_that_it_is_out_of_range(tmp_path, capsys):
    path = tmp_path / "narrowed.lgi"
    path.write_bytes(_narrowed_alpha_file())
    assert cli.main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "does not match the 72 the header declares" in err
    assert "out of range" not in err


def test_a_uniform_stream_of_another_alphabet_than_expected_says_so():
    data = bytearray()
    for value in (3, 5, 1):
        write_varint(value, data)
    with pytest.raises(EntropyError, match="alphabet of 5 symbols does not match the 4 the header declares"):
        decode_uniform(bytes(data) + b"\0\0\0\0", 0, 3, 4)


# defect 5: symbol-count bombs ----------------------------------------------------------------------------


def test_a_stream_claiming_more_symbols_than_the_header_is_refused_before_decoding():
    bomb = bytearray()
    write_varint(1 << 26, bomb)  # 2^26 symbols
    bomb.append(1)  # uniform model
    write_varint(2, bomb)  # over 2 symbols
    write_varint(1, bomb)  # in one word
    data = bytes(bomb) + b"\0\0\0\0"
    start = time.perf_counter()
    with pytest.raises(EntropyError, match="where 10 are expected"):
        decode_categorical(data, 0, count=10)
    assert time.perf_counter() - start < 0.1


def test_a_vq_file_whose_index_stream_claims_2_to_the_26_symbols_is_refused_quickly():
    book = bytearray()
    write_varint(16, book)
    book += np.full(16, 0.25, "<f2").tobytes()
    stream = bytearray()
    write_varint(1 << 26, stream)
    stream.append(1)  # uniform model
    for value in (2, 1):  # alphabet 2, one word
        write_varint(value, stream)
    data = file_of("vq", RenderMode.ACCUMULATED_SUM, bytes(book + stream) + b"\0" * 4, 10, (56, 40))
    assert len(data) < 220
    start = time.perf_counter()
    refused(data, "stream claims 67108864 symbols where 10 are expected")
    assert time.perf_counter() - start < 0.5


# defect 6: declared work ---------------------------------------------------------------------------------


def _big_gaussians(n: int, side: int, sigma: float = 4.0) -> bytes:
    row = np.array([0.5, 0.5, sigma, 0.0, sigma, 0.5, 0.4, 0.3], "<f4")
    return file_of("float32", RenderMode.ACCUMULATED_SUM, np.tile(row, n).tobytes(), n, (side, side), squeeze=True)


def test_a_tiny_file_declaring_2000_gaussians_over_a_megapixel_is_refused_before_rendering():
    data = _big_gaussians(2000, 1024)
    assert len(data) < 200
    lgi = decode_lgi(data)
    assert render_work(lgi.gaussians(), 1024, 1024) > MAX_RENDER_WORK
    start = time.perf_counter()
    with pytest.raises(RenderLimitError, match="million pixel evaluations"):
        lgi.render()
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("side", [9000, 16384, 32768])
def test_a_huge_canvas_reads_but_refuses_a_native_render(side):
    lgi = decode_lgi(_big_gaussians(1, side, 0.01))
    assert lgi.header.width == side
    with pytest.raises(RenderLimitError, match="MP limit"):
        lgi.render()
    assert lgi.render(64, 64).shape == (64, 64, 3)  # small renders of the same file are fine


def test_render_work_follows_the_footprints():
    small = decode_lgi(_big_gaussians(100, 256, 0.001)).gaussians()
    large = decode_lgi(_big_gaussians(100, 256, 1.0)).gaussians()
    overhead = 256 * 256 + 100 * GAUSSIAN_WORK
    assert overhead < render_work(small, 256, 256) <= overhead + 100 * 16  # 3 sigma of the 0.5 px floor: 4x4
    assert render_work(large, 256, 256) == overhead + 100 * 256 * 256


# defect 7: what is read ------------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_without_reading_it():
    with pytest.raises(LgiFormatError, match="not a regular file"):
        read_lgi("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe.lgi")
    start = time.perf_counter()
    with pytest.raises(LgiFormatError, match="not a regular file"):
        read_lgi(tmp_path / "pipe.lgi")
    assert time.perf_counter() - start < 1.0


def test_a_file_larger_than_the_format_allows_is_refused_unread(tmp_path):
    path = tmp_path / "huge.lgi"
    with open(path, "wb") as handle:
        handle.truncate(lgi_format.MAX_FILE + 1)  # sparse: costs no disk
    with pytest.raises(LgiFormatError, match=r"larger than any \.lgi file we read"):
        read_lgi(path)


def test_a_folder_is_a_format_error(tmp_path):
    with pytest.raises(LgiFormatError, match=str(tmp_path)):
        read_lgi(tmp_path)


# also seen: one zstd frame, nothing after it ---------------------------------------------------------------


def _squeezed() -> list[tuple[bytes, bytes]]:
    """A valid file's chunks with GAUS zstd-compressed."""
    chunks = split_chunks(encode_lgi(quantized()))
    chunks = with_payload(chunks, raw_payload(chunks), squeeze=True)
    assert decode_lgi(join_chunks(chunks)).header.count == 60
    return chunks


def _gaus_appended(extra: bytes) -> bytes:
    return join_chunks([(k, p + extra if k == b"GAUS" else p) for k, p in _squeezed()])


def test_a_second_zstd_frame_is_refused():
    refused(_gaus_appended(zstandard.ZstdCompressor().compress(b"")), "more than one zstd frame")


def test_bytes_after_the_zstd_frame_are_refused():
    refused(_gaus_appended(b"\0"), "more than one zstd frame or trailing bytes")


def test_a_skippable_frame_before_the_data_is_refused():
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"abcd"
    refused(join_chunks([(k, skippable + p if k == b"GAUS" else p) for k, p in _squeezed()]), "zstd")


def test_a_truncated_zstd_frame_is_refused():
    refused(join_chunks([(k, p[:-3] if k == b"GAUS" else p) for k, p in _squeezed()]), "zstd")
