"""Reading pictures of every common kind, refusing bad ones clearly; writing atomically."""

import os

import numpy as np
import pytest
from PIL import Image

from lgi_studio.io import images
from lgi_studio.io.atomic import atomic_writer
from lgi_studio.io.errors import ImageReadError, OutputWriteError
from lgi_studio.io.images import load_image, save_image


def rgb_array(w: int = 20, h: int = 10) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 12, yy * 25, (xx + yy) * 8], -1).astype(np.uint8)


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif", "bmp"])
def test_reads_common_formats(tmp_path, ext):
    path = tmp_path / f"p.{ext}"
    Image.fromarray(rgb_array()).save(path, **({"quality": 95} if ext in ("jpg", "webp") else {}))
    img = load_image(path)
    assert img.shape == (10, 20, 3)
    assert img.dtype == np.float32
    tolerance = 0.08 if ext in ("jpg", "webp") else 1e-6
    np.testing.assert_allclose(img, rgb_array() / 255.0, atol=tolerance)


def test_grayscale_and_palette_become_rgb(tmp_path):
    Image.fromarray(rgb_array()[:, :, 0]).save(tmp_path / "g.png")
    gray = load_image(tmp_path / "g.png")
    np.testing.assert_allclose(gray[:, :, 0], gray[:, :, 2])
    Image.fromarray(rgb_array()).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (10, 20, 3)


def test_sixteen_bit_grayscale_keeps_precision(tmp_path):
    data = (np.arange(200, dtype=np.uint16).reshape(10, 20) * 300).astype(np.uint16)
    Image.fromarray(data).save(tmp_path / "g16.png")
    img = load_image(tmp_path / "g16.png")
    np.testing.assert_allclose(img[:, :, 0], data / 65535.0, atol=1e-6)


def test_cmyk_is_converted(tmp_path):
    Image.fromarray(rgb_array()).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert load_image(tmp_path / "c.jpg").shape == (10, 20, 3)


def test_alpha_is_composited_over_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    np.testing.assert_allclose(img[0, 0], [1, 0, 0])
    np.testing.assert_allclose(img[3, 0], [1, 1, 1])


def test_exif_orientation_is_applied(tmp_path):
    im = Image.fromarray(rgb_array(20, 10))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    im.save(tmp_path / "o.jpg", exif=exif, quality=95)
    assert load_image(tmp_path / "o.jpg").shape == (20, 10, 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b"definitely not a picture"), "not a picture"),
        (lambda p: p.write_bytes(_png_bytes()[:60]), "corrupt or truncated"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_inputs_raise_one_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ImageReadError, match=message):
        load_image(path)


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(rgb_array(64, 64)).save(buf, format="PNG")
    return buf.getvalue()


def test_huge_pictures_are_refused_before_decoding(tmp_path, monkeypatch):
    Image.fromarray(rgb_array(40, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageReadError, match="larger than"):
        load_image(tmp_path / "big.png")


def test_decompression_bombs_are_refused(tmp_path, monkeypatch):
    Image.fromarray(rgb_array(40, 30)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageReadError, match="too large to be safe"):
        load_image(tmp_path / "bomb.png")


def test_save_round_trip(tmp_path):
    img = rgb_array() / 255.0
    save_image(tmp_path / "out.png", img)
    np.testing.assert_allclose(load_image(tmp_path / "out.png"), img, atol=1e-6)


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "keep.bin"
    target.write_bytes(b"old")

    def crash_mid_write() -> None:
        with atomic_writer(target) as handle:
            handle.write(b"half")
            raise RuntimeError("simulated crash mid-write")

    with pytest.raises(RuntimeError, match="simulated crash"):
        crash_mid_write()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.bin"]


def test_unwritable_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(OutputWriteError, match="cannot write"):
        save_image(tmp_path / "missing" / "x.png", rgb_array())
