"""16-bit PNGs are read at their full precision: the fit works in float, so the low byte is signal.

Pillow has no 16-bit colour mode (it cuts 48-bit RGB, 64-bit RGBA and 32-bit grey+alpha PNGs to 8 bits per
channel), and it cannot write those files either, so the tests write them byte by byte: with the Sub filter
(which works in whole 6- or 8-byte pixels, so a decoder with the wrong pixel size fails) and Adam7.
"""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from lgi_studio.io.images import load_image

COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _sub_filtered(rows: np.ndarray, pixel_bytes: int) -> bytes:
    """Rows of raw bytes [H, B], each with PNG filter 1 (Sub: every byte minus the one a pixel before it)."""
    shifted = np.zeros_like(rows)
    shifted[:, pixel_bytes:] = rows[:, :-pixel_bytes]
    filtered = rows - shifted  # uint8 arithmetic wraps modulo 256, as the filter does
    return b"".join(b"\1" + row.tobytes() for row in filtered)


def png16(samples: np.ndarray, interlaced: bool = False, exif: bytes = b"") -> bytes:
    """A 16-bit PNG of ``samples`` [H, W, C] uint16 (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)."""
    h, w, c = samples.shape
    big = samples.astype(">u2")
    if interlaced:
        passes = [np.ascontiguousarray(big[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7]
        raw = b"".join(_sub_filtered(p.reshape(p.shape[0], -1).view(np.uint8), 2 * c) for p in passes if p.size)
    else:
        raw = _sub_filtered(big.reshape(h, -1).view(np.uint8), 2 * c)
    header = struct.pack(">IIBBBBB", w, h, 16, COLOUR_TYPES[c], 0, 0, int(interlaced))
    extra = _chunk(b"eXIf", exif) if exif else b""
    idat = _chunk(b"IDAT", zlib.compress(raw))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + idat + _chunk(b"IEND", b"")


def samples(channels: int, w: int = 13, h: int = 9) -> np.ndarray:
    return np.random.default_rng(channels).integers(0, 65536, (h, w, channels)).astype(np.uint16)


def over_white(s: np.ndarray) -> np.ndarray:
    """What a viewer shows: colour (grey repeated) composited over white, in float64."""
    x = s.astype(np.float64) / 65535.0
    colour, alpha = (x[..., :-1], x[..., -1:]) if s.shape[2] in (2, 4) else (x, np.ones_like(x[..., :1]))
    colour = np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour
    return colour * alpha + (1.0 - alpha)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4], ids=["grey", "grey-alpha", "rgb48", "rgba64"])
def test_sixteen_bit_pngs_are_read_at_full_precision(tmp_path, channels, interlaced):
    s = samples(channels)
    path = tmp_path / "deep.png"
    path.write_bytes(png16(s, interlaced))
    picture = load_image(path)
    assert picture.shape == (9, 13, 3)
    assert picture.dtype == np.float32
    np.testing.assert_allclose(picture, over_white(s), atol=2e-7)  # float32 rounding, far below 1/65535


def test_the_low_byte_of_a_48_bit_rgb_png_reaches_the_picture(tmp_path):
    s = np.full((2, 3, 3), 0x1200, np.uint16) + np.arange(18, dtype=np.uint16).reshape(2, 3, 3)
    path = tmp_path / "low.png"
    path.write_bytes(png16(s))
    assert len(np.unique(load_image(path))) == 18  # at 8 bits all 18 samples would read as 0x12


def _exif(orientation: int) -> bytes:
    """A big-endian TIFF block with one IFD entry, the orientation (a PNG's eXIf chunk has no "Exif" prefix)."""
    return struct.pack(">2sHIHHHIHHI", b"MM", 42, 8, 1, 0x0112, 3, 1, orientation, 0, 0)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_16_bit_png_is_turned_upright_as_pillow_turns_its_8_bit_reading(tmp_path, orientation):
    s = samples(3, 7, 4)
    path = tmp_path / "turned.png"
    path.write_bytes(png16(s, exif=_exif(orientation)))
    with Image.open(path) as im:
        eight_bit = np.asarray(ImageOps.exif_transpose(im), np.float64) / 255.0
    picture = load_image(path)
    assert picture.shape == eight_bit.shape
    np.testing.assert_allclose(picture, eight_bit, atol=1 / 255)
    assert np.abs(picture - eight_bit).max() > 1e-3  # the full-precision reading, not the 8-bit one
