"""``lgi thumbnail`` and the freedesktop thumbnailer entry the installers put in share/thumbnailers/."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from lgi_studio import codec
from lgi_studio.cli import main
from lgi_studio.thumbnail import thumbnail_size
from tests.api.test_codec import picture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lgi_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("thumb") / "p.lgi"
    path.write_bytes(codec.encode(picture(), count=40, iterations=20))
    return path


def test_a_thumbnail_is_a_png_that_fits_the_size(lgi_file, tmp_path):
    out = tmp_path / "thumbnail-without-suffix"  # file managers pass temporary names
    assert main(["thumbnail", str(lgi_file), str(out), "16"]) == 0
    with Image.open(out) as im:
        assert (im.format, im.size, im.mode) == ("PNG", (16, 12), "RGB")
    assert main(["thumbnail", str(lgi_file), str(tmp_path / "big.png"), "256"]) == 0
    assert Image.open(tmp_path / "big.png").size == (32, 24)  # never enlarged


def test_sizes_fit_the_box():
    assert thumbnail_size(768, 512, 128) == (128, 85)
    assert thumbnail_size(512, 768, 128) == (85, 128)
    assert thumbnail_size(4000, 10, 128) == (128, 1)


@pytest.mark.parametrize(("content", "size", "message"), [(b"not lgi", "16", "wrong signature"), (None, "0", "1..")])
def test_a_bad_file_or_size_is_one_line_and_nothing_written(lgi_file, tmp_path, capsys, content, size, message):
    source = lgi_file
    if content is not None:
        source = tmp_path / "bad.lgi"
        source.write_bytes(content)
    assert main(["thumbnail", str(source), str(tmp_path / "t.png"), size]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()


def test_the_thumbnailer_entry_runs_lgi_for_the_lgi_mime_type():
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(ROOT / "resources" / "lgi-studio.thumbnailer")
    section = entry["Thumbnailer Entry"]
    assert section["Exec"] == "lgi thumbnail %i %o %s"
    mime = (ROOT / "resources" / "lgi-studio-mime.xml").read_text()
    assert all(f'type="{t}"' in mime for t in section["MimeType"].rstrip(";").split(";"))
    assert 'resources/lgi-studio.thumbnailer "$share/thumbnailers/' in (ROOT / "packaging" / "build.sh").read_text()


@pytest.mark.skipif(shutil.which("sh") is None, reason="install.sh is a POSIX shell script")
def test_install_sh_installs_the_thumbnailer_pointing_at_its_lgi(tmp_path):
    unpacked = tmp_path / "unpacked"
    (unpacked / "lgi-studio").mkdir(parents=True)
    for name in ("lgi-studio", "lgi"):
        (unpacked / "lgi-studio" / name).write_text("#!/bin/sh\n")
        (unpacked / "lgi-studio" / name).chmod(0o755)
    share = unpacked / "share"
    (share / "thumbnailers").mkdir(parents=True)
    (share / "applications").mkdir()
    shutil.copy(ROOT / "resources" / "lgi-studio.thumbnailer", share / "thumbnailers")
    shutil.copy(ROOT / "resources" / "lgi-studio.desktop", share / "applications")
    shutil.copy(ROOT / "packaging" / "linux" / "install.sh", unpacked)
    prefix = tmp_path / "prefix"
    subprocess.run(["sh", str(unpacked / "install.sh"), "--prefix", str(prefix)], check=True, capture_output=True)
    installed = (prefix / "share" / "thumbnailers" / "lgi-studio.thumbnailer").read_text()
    assert f'Exec="{prefix}/bin/lgi" thumbnail %i %o %s' in installed
    assert f"TryExec={prefix}/bin/lgi\n" in installed
    subprocess.run(["sh", str(unpacked / "install.sh"), "--prefix", str(prefix), "--uninstall"], check=True)
    assert not (prefix / "share" / "thumbnailers" / "lgi-studio.thumbnailer").exists()
