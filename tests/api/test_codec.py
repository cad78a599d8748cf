"""The codec contract: ``lgi_studio.encode`` / ``decode`` / ``read_info``, and the pipeline under them."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lgi_studio
from lgi_studio import codec
from lgi_studio.io.images import load_image, to_uint8
from lgi_studio.io.lgi_format import LgiFormatError, read_lgi

ROOT = Path(__file__).resolve().parents[2]


def picture() -> np.ndarray:
    yy, xx = np.mgrid[0:24, 0:32]
    rgb = np.stack([xx * 8, yy * 10, (xx + yy) * 4], -1).astype(np.uint8)
    rgb[6:12, 4:14] = [230, 40, 40]
    return rgb


def test_importing_the_package_loads_neither_taichi_nor_qt():
    code = (
        "import sys, lgi_studio\n"
        "heavy = ('taichi', 'PySide6', 'numpy', 'lgi_kernels')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "lgi_studio.read_info\n"
        "print('PySide6' in sys.modules, callable(lgi_studio.encode))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "False True"]


def test_unknown_attributes_are_still_errors():
    with pytest.raises(AttributeError, match="no attribute 'compress'"):
        _ = lgi_studio.compress


def test_encode_decode_round_trip_from_an_array_a_path_and_a_pil_image(tmp_path):
    rgb = picture()
    Image.fromarray(rgb).save(tmp_path / "p.png")
    files = [
        lgi_studio.encode(source, count=40, iterations=40) for source in (rgb, tmp_path / "p.png", Image.fromarray(rgb))
    ]
    assert all(f[:4] == b"\x89LGI" for f in files)
    decoded = lgi_studio.decode(files[0])
    assert decoded.dtype == np.uint8
    assert decoded.shape == (24, 32, 3)
    (tmp_path / "p.lgi").write_bytes(files[0])
    expected = to_uint8(read_lgi(tmp_path / "p.lgi").gaussians().render())
    np.testing.assert_array_equal(decoded, expected)
    error = np.abs(decoded.astype(float) - rgb).mean()
    assert error < 12  # a picture, not noise
    info = lgi_studio.read_info(files[0])
    assert (info["width"], info["height"], info["scheme"]) == (32, 24, "lgi-sq")
    assert 0 < info["gaussians"] <= 40  # rate-distortion pruning may drop Gaussians not worth their bits
    assert info["file_bytes"] == len(files[0])
    assert lgi_studio.read_info(tmp_path / "p.lgi") == info


def test_decode_renders_any_size_and_part():
    data = lgi_studio.encode(picture(), count=30, iterations=20)
    assert lgi_studio.decode(data, width=64).shape == (48, 64, 3)
    assert lgi_studio.decode(data, height=12).shape == (12, 16, 3)
    assert lgi_studio.decode(data, width=10, height=30).shape == (30, 10, 3)
    assert lgi_studio.decode(data, viewport=(0.5, 0.5, 1.0, 1.0)).shape == (12, 16, 3)
    quarter = lgi_studio.decode(data, viewport=(0.5, 0.5, 1.0, 1.0), width=32)
    whole = lgi_studio.decode(data, width=64)
    assert quarter.shape == (24, 32, 3)
    assert np.abs(quarter.astype(int) - whole[24:, 32:]).mean() < 2  # the same Gaussians, the same place


def test_bad_input_is_a_clear_error():
    with pytest.raises(LgiFormatError, match="wrong signature"):
        lgi_studio.decode(b"PNG not lgi")
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        lgi_studio.encode(np.zeros((4, 4), np.uint8), count=4)
    with pytest.raises(ValueError, match="not both"):
        lgi_studio.encode(picture(), count=40, target_size=2000)
    with pytest.raises(ValueError, match="one target, not size and psnr"):
        lgi_studio.encode(picture(), target_size=2000, target_psnr=30)
    with pytest.raises(ValueError, match="scheme lgi-sq has no codebook size"):
        lgi_studio.encode(picture(), count=40, codebook_size=16)


def test_the_same_seed_gives_the_same_file():
    first = lgi_studio.encode(picture(), count=30, iterations=20, seed=3)
    assert lgi_studio.encode(picture(), count=30, iterations=20, seed=3) == first


def test_pack_is_the_pipeline_the_cli_writes(tmp_path, capsys, monkeypatch):
    """``lgi encode`` writes exactly what ``codec.pack_fit`` makes of its fit: one pipeline."""
    from lgi_studio.cli import main

    Image.fromarray(picture()).save(tmp_path / "p.png")
    made = []
    real = codec.pack_fit
    monkeypatch.setattr(codec, "pack_fit", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    assert main(["encode", "-i", str(tmp_path / "p.png"), "-o", str(tmp_path / "p.lgi"), "-n", "30"]) == 0
    assert (tmp_path / "p.lgi").read_bytes() == made[0].data
    assert f"{len(made[0].data)} bytes" in capsys.readouterr().out


def test_the_documented_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), {})


def test_as_picture_reads_every_kind_the_same(tmp_path):
    rgb = picture()
    Image.fromarray(rgb).save(tmp_path / "p.png")
    expected = load_image(tmp_path / "p.png")
    for source in (rgb, rgb.astype(np.uint16) * 257, rgb / 255.0, Image.fromarray(rgb), str(tmp_path / "p.png")):
        np.testing.assert_allclose(codec.as_picture(source), expected, atol=1e-6)
