"""``--keep-metadata``: orientation applied on the way in, ICC profile and EXIF carried through the .lgi."""

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from lgi_studio.cli import main
from lgi_studio.io.lgi_format import read_lgi

ENCODE = ["-n", "30", "--iterations", "20", "--quiet"]


@pytest.fixture
def photo(tmp_path):
    """A 32x24 JPEG stored sideways (EXIF orientation 6: shown rotated to 24x32), with a camera name and an
    ICC profile."""
    yy, xx = np.mgrid[0:24, 0:32]
    rgb = np.stack([xx * 8, yy * 10, (xx + yy) * 4], -1).astype(np.uint8)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "LGI test camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, exif=exif.tobytes(), icc_profile=icc, quality=95)
    return path, icc


def test_icc_and_exif_go_into_the_lgi_and_back_out_to_png(tmp_path, photo):
    path, icc = photo
    lgi = tmp_path / "photo.lgi"
    assert main(["encode", "-i", str(path), "-o", str(lgi), "--keep-metadata", *ENCODE]) == 0
    assert (read_lgi(lgi).header.width, read_lgi(lgi).header.height) == (24, 32)  # upright
    assert set(read_lgi(lgi).metadata) == {"icc_profile", "exif"}
    out = tmp_path / "back.png"
    assert main(["decode", "-i", str(lgi), "-o", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (24, 32)
        assert im.info["icc_profile"] == icc
        exif = im.getexif()
        assert exif[ExifTags.Base.Make] == "LGI test camera"
        assert ExifTags.Base.Orientation not in exif  # the pixels are upright: no viewer may turn them again


def test_without_the_flag_nothing_is_carried(tmp_path, photo):
    path, _ = photo
    lgi = tmp_path / "photo.lgi"
    assert main(["encode", "-i", str(path), "-o", str(lgi), *ENCODE]) == 0
    assert read_lgi(lgi).metadata == {}
    assert main(["decode", "-i", str(lgi), "-o", str(tmp_path / "back.png")]) == 0
    with Image.open(tmp_path / "back.png") as im:
        assert "icc_profile" not in im.info


def test_batch_keeps_it_too(tmp_path, photo):
    path, icc = photo
    assert main(["batch", str(path), "-o", str(tmp_path / "out"), "--keep-metadata", *ENCODE]) == 0
    assert main(["decode", "-i", str(tmp_path / "out" / "photo.lgi"), "-o", str(tmp_path / "back.png")]) == 0
    with Image.open(tmp_path / "back.png") as im:
        assert im.info["icc_profile"] == icc
