"""The Pillow plugin: open reads the header only, load renders (small when drafted), only LgiFormatError."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lgi_studio.io.pillow_plugin  # noqa: F401 - registers the format
from lgi_kernels import RenderMode
from lgi_studio.io import lgi_format
from lgi_studio.io.lgi_format import LgiFile, LgiFormatError, RenderLimitError, encode_lgi, read_lgi, write_lgi
from tests.io.test_lgi_format import quantized

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fuzz_cases import file_of, join_chunks, split_chunks


def test_pillow_plugin_opens_lgi(tmp_path):
    path = tmp_path / "x.lgi"
    write_lgi(path, quantized())
    with Image.open(path) as im:
        assert im.format == "LGI"
        assert im.size == (64, 48)
        assert im.mode == "RGB"
        assert im.info == {"gaussians": 60, "scheme": "lgi"}
        pixels = np.asarray(im.convert("RGB"))
    expected = np.clip(read_lgi(path).gaussians().render(), 0, 1)
    np.testing.assert_allclose(pixels / 255.0, expected, atol=1 / 255 + 1e-6)


def test_open_reads_the_header_only_and_load_finds_the_damage(tmp_path):
    chunks = split_chunks(encode_lgi(quantized()))
    path = tmp_path / "damaged.lgi"
    path.write_bytes(join_chunks([(k, p[:-5] if k == b"GAUS" else p) for k, p in chunks]))
    with Image.open(path) as im:
        assert im.size == (64, 48)
        with pytest.raises(LgiFormatError, match="payload has"):
            im.load()


def test_a_bad_header_is_a_format_error_from_open(tmp_path):
    path = tmp_path / "bad.lgi"
    data = encode_lgi(quantized())
    path.write_bytes(data[:20])
    with pytest.raises(LgiFormatError, match="truncated"):
        Image.open(path)
    path.write_bytes(data[:16] + b"\x09" + data[17:])  # version 9, CRC now wrong
    with pytest.raises(LgiFormatError, match="CRC"):
        Image.open(path)


def test_truncation_at_every_length_raises_only_the_format_error(tmp_path):
    data = encode_lgi(quantized(n=12))
    path = tmp_path / "cut.lgi"
    for cut in range(len(lgi_format.SIGNATURE), len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(LgiFormatError), Image.open(path) as im:
            im.load()


def test_thumbnail_renders_small_directly_from_the_gaussians(tmp_path, monkeypatch):
    path = tmp_path / "x.lgi"
    write_lgi(path, quantized())
    sizes = []
    real_render = LgiFile.render

    def spy(self, width=None, height=None, mode=None):
        sizes.append((width, height))
        return real_render(self, width, height, mode)

    monkeypatch.setattr(LgiFile, "render", spy)
    with Image.open(path) as im:
        im.thumbnail((16, 16))
        assert im.size == (16, 12)
    # one render, at about reducing_gap (2) times the thumbnail (Pillow 10 and 13 round differently), not 64x48
    ((width, height),) = sizes
    assert 32 <= width <= 43
    assert 24 <= height <= 32
    with Image.open(path) as im:
        assert im.draft("RGB", (32, 10)) == ("RGB", (0, 0, 32, 24))
        im.load()
        expected = np.clip(read_lgi(path).render(32, 24), 0, 1)
        np.testing.assert_allclose(np.asarray(im) / 255.0, expected, atol=1 / 255 + 1e-6)


def test_a_huge_canvas_opens_refuses_a_full_load_and_thumbnails(tmp_path):
    row = np.array([0.5, 0.5, 0.01, 0.0, 0.01, 0.9, 0.2, 0.1], "<f4")
    path = tmp_path / "huge.lgi"
    path.write_bytes(file_of("float32", RenderMode.ACCUMULATED_SUM, row.tobytes(), 1, (9000, 9000)))
    with Image.open(path) as im:
        assert im.size == (9000, 9000)
        with pytest.raises(RenderLimitError, match="MP limit"):
            im.load()
    with Image.open(path) as im:
        im.thumbnail((64, 64))
        assert im.size == (64, 64)
        assert np.asarray(im)[32, 32, 0] > 100  # the red dot in the middle
