"""Encoding to a target size, bits per pixel or PSNR instead of a count."""

import pytest
from PIL import Image

from lgi_studio import codec
from lgi_studio.cli import main
from lgi_studio.targets import SIZE_FLOOR, Target, parse_size
from tests.api.test_codec import picture

FAST = {"iterations": 60}


def encode_to(target: Target, **options):
    cfg = codec.build_config(**{**FAST, **options})
    return codec.encode_image(codec.as_picture(picture()), cfg, target=target)


@pytest.mark.parametrize(
    ("text", "size"),
    [(20000, 20000), ("20000", 20000), ("20KB", 20000), ("20 kB", 20000), ("2KiB", 2048), ("1.5MB", 1_500_000)],
)
def test_sizes_read_as_people_write_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["twenty", "20 GB", "-5KB", "0"])
def test_sizes_that_mean_nothing_are_refused(text):
    with pytest.raises(ValueError, match="target size"):
        parse_size(text)


def test_bpp_is_a_size_for_the_picture():
    assert Target.from_options(None, 0.5, None, 64, 48) == Target("size", 192, "0.5 bpp")
    with pytest.raises(ValueError, match="target bpp"):
        Target.from_options(None, 0.0, None, 64, 48)
    with pytest.raises(ValueError, match="target PSNR"):
        Target.from_options(None, None, 300, 64, 48)
    assert Target.from_options(None, None, None, 64, 48) is None


@pytest.mark.parametrize("size", [700, 1500])
def test_a_size_target_lands_between_95_and_100_percent(size):
    encoded = encode_to(Target("size", size, str(size)))
    assert SIZE_FLOOR * size <= len(encoded.data) <= size
    report = encoded.target
    assert report.met
    assert 1 <= report.fits <= 3
    assert encoded.quantized.n == report.trials[-1].count
    assert "met" in report.describe(encoded)


def test_a_bpp_target_through_the_api():
    data = codec.encode(picture(), target_bpp=6.0, **FAST)
    assert SIZE_FLOOR * 6.0 * 32 * 24 / 8 <= len(data) <= 6.0 * 32 * 24 / 8


def test_a_psnr_target_is_met_with_the_smallest_file_tried():
    # 28.5 dB: on this 32x24 picture 29 dB sits on a plateau (64 -> 78 Gaussians gained 0.05 dB) that
    # three fits do not cross since the colours are rounded group by group.
    encoded = encode_to(Target("psnr", 28.5, "28.5 dB"))
    assert encoded.psnr >= 28.5
    report = encoded.target
    assert report.met
    assert len(encoded.data) == min(t.bytes for t in report.trials if t.psnr >= 28.5)


def test_an_unreachable_psnr_returns_the_best_file_and_says_so():
    encoded = encode_to(Target("psnr", 70.0, "70 dB"), iterations=10)
    assert not encoded.target.met
    assert "NOT met" in encoded.target.describe(encoded)
    assert encoded.psnr == max(t.psnr for t in encoded.target.trials if t.count == t.fitted)


def test_a_size_below_the_smallest_file_is_refused():
    with pytest.raises(ValueError, match="smaller than the smallest file"):
        encode_to(Target("size", 60, "60"))


def test_the_cli_prints_asked_and_reached(tmp_path, capsys):
    import json

    from lgi_studio.io.lgi_format import read_lgi

    Image.fromarray(picture()).save(tmp_path / "p.png")
    args = ["encode", "-i", str(tmp_path / "p.png"), "-o", str(tmp_path / "p.lgi"), "--iterations", "60"]
    assert main([*args, "--target-size", "1.2KB", "--quiet", "--metrics-json", str(tmp_path / "m.json")]) == 0
    assert SIZE_FLOOR * 1200 <= (tmp_path / "p.lgi").stat().st_size <= 1200
    out = capsys.readouterr().out
    assert "target 1.2KB: reached" in out
    assert "(met;" in out
    summary = json.loads((tmp_path / "m.json").read_text())
    assert summary["count"] == read_lgi(tmp_path / "p.lgi").header.count  # the file's, not the fit's
    assert (summary["target"], summary["target_met"]) == ("1.2KB", True)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target-size", "1KB", "-n", "40"], "not more than one"),
        (["--target-size", "1KB", "--target-psnr", "30"], "one target"),
        (["--target-size", "lots"], "target size must be"),
        (["--target-psnr", "30", "-o", "x.png"], "give an output ending in .lgi"),
    ],
)
def test_the_cli_refuses_targets_that_cannot_work(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(picture()).save(tmp_path / "p.png")
    argv = ["encode", "-i", "p.png", "-o", "p.lgi", "--iterations", "10", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "p.lgi").exists()
