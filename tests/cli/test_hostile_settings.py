"""Hostile settings (issue 17, defects 8-21): each is one line on stderr and exit 2, or it simply works."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from lgi_studio import cli
from lgi_studio.cli import main
from lgi_studio.io import atomic
from lgi_studio.io.lgi_format import read_lgi
from tests.cli.test_cli import _tiny_png


def one_line_error(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("lgi: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    return err


@pytest.fixture
def lgi_file(tmp_path, capsys):
    path = tmp_path / "x.lgi"
    argv = ["encode", "-i", str(_tiny_png(tmp_path)), "-o", str(path), "-n", "30", "--iterations", "20", "--quiet"]
    assert main(argv) == 0
    capsys.readouterr()
    return path


def encode(tmp_path, *extra: str, picture=None) -> list[str]:
    src = picture or _tiny_png(tmp_path)
    return ["encode", "-i", str(src), "--iterations", "8", "--quiet", *extra]


def test_vq_with_the_automatic_codebook_and_few_gaussians_sizes_it_to_the_count(tmp_path):  # defect 8
    out = tmp_path / "v.lgi"
    assert main(encode(tmp_path, "-o", str(out), "--scheme", "vq", "-n", "24")) == 0
    assert read_lgi(out).header.count == 24


def test_gaussianimage_on_a_one_pixel_picture(tmp_path):  # defect 9
    Image.new("RGB", (1, 1), (200, 30, 90)).save(tmp_path / "dot.png")
    out = tmp_path / "dot.lgi"
    assert main(encode(tmp_path, "-o", str(out), "--scheme", "gaussianimage", picture=tmp_path / "dot.png")) == 0
    assert read_lgi(out).render().shape == (1, 1, 3)


@pytest.mark.parametrize("scheme", ["vq", "gaussianimage", "lgi"])
def test_codebook_schemes_refuse_a_single_gaussian_before_the_fit(tmp_path, capsys, scheme):
    assert main(encode(tmp_path, "-o", str(tmp_path / "x.lgi"), "--scheme", scheme, "-n", "1")) == 2
    one_line_error(capsys, "needs at least 2 Gaussians")


def test_metrics_json_of_an_exact_fit_is_valid_json(tmp_path, monkeypatch):  # defect 10
    import lgi_studio.core.metrics as metrics

    monkeypatch.setattr(metrics, "psnr_8bit", lambda *a: float("inf"))
    out, report = tmp_path / "x.lgi", tmp_path / "m.json"
    assert main(encode(tmp_path, "-o", str(out), "-n", "10", "--metadata", "--metrics-json", str(report))) == 0

    def no_constants(name):
        raise AssertionError(name)

    summary = json.loads(report.read_text(), parse_constant=no_constants)
    assert summary["count"] == 10
    assert read_lgi(out).metadata["psnr"] is None


def test_a_fit_too_big_for_the_memory_is_refused_before_reading_the_picture(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_available_memory", lambda: 100e6)  # defect 11
    out = tmp_path / "x.png"
    assert main(encode(tmp_path, "-o", str(out))) == 2
    one_line_error(capsys, "needs about 0.2 GB", "0.1 GB of available memory", "--max-memory 1")
    assert main(encode(tmp_path, "-o", str(out), "--max-memory", "0.05")) == 2
    one_line_error(capsys, "0.1 GB of --max-memory")
    assert main(encode(tmp_path, "-o", str(out), "--max-memory", "nan")) == 2
    one_line_error(capsys, "--max-memory must be a positive number")
    assert main(encode(tmp_path, "-o", str(out), "--max-memory", "1")) == 0
    assert out.exists()


def test_a_later_run_removes_stale_temps_of_its_own(tmp_path, lgi_file, capsys):  # defect 12
    dead = tmp_path / f".out.png.{2**22 + 12345}-abc{atomic.TEMP_SUFFIX}"
    alive = tmp_path / f".out.png.{os.getppid()}-def{atomic.TEMP_SUFFIX}"
    other = tmp_path / f".other.png.{2**22 + 12345}-abc{atomic.TEMP_SUFFIX}"
    for path in (dead, alive, other):
        path.write_bytes(b"")
    assert main(["decode", "-i", str(lgi_file), "-o", str(tmp_path / "out.png")]) == 0
    assert not dead.exists()
    assert alive.exists()  # its process still runs: maybe it is still writing
    assert other.exists()  # another target's: not this run's to judge


def test_a_failing_metrics_file_replaces_no_output(tmp_path, capsys, monkeypatch):  # defect 14
    out, report = tmp_path / "x.lgi", tmp_path / "m.json"
    out.write_bytes(b"old picture")
    real_fsync = os.fsync
    calls = []

    def second_fsync_fails(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", second_fsync_fails)
    assert main(encode(tmp_path, "-o", str(out), "-n", "10", "--metrics-json", str(report))) == 2
    one_line_error(capsys, "No space left on device")
    assert out.read_bytes() == b"old picture"
    assert sorted(os.listdir(tmp_path)) == ["in.png", "x.lgi"]


def test_the_backend_flag_wins_over_the_environment(tmp_path, lgi_file, capsys, monkeypatch):  # defect 15
    monkeypatch.setenv("LGI_BACKEND", "cuda")
    assert main(["decode", "-i", str(lgi_file), "-o", str(tmp_path / "o.png"), "--backend", "cpu"]) == 0
    assert main(["backend", "--backend", "cpu"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--width", "0"], "--width must be at least 1"),
        (["--height", "0"], "--height must be at least 1"),
        (["--width", "-5"], "--width must be at least 1"),
        (["--scale", "2", "--width", "100"], "give --scale or --width/--height, not both"),
        (["--scale", "nan"], "--scale must be in (0, 64]"),
        (["--render-mode", "bogus"], "invalid choice: 'bogus'"),
        (["--width", "4000", "--height", "4000"], "MP a render may have"),
        (["--width", "32768"], "MP a render may have"),
        (["--width", "40000"], "outside 1..32768"),
    ],
)
def test_impossible_decode_settings_are_one_line_errors(tmp_path, lgi_file, capsys, extra, message):  # 16, 17, 19
    out = tmp_path / "o.png"
    try:
        code = main(["decode", "-i", str(lgi_file), "-o", str(out), *extra])
    except SystemExit as exit_info:  # argparse's own checks
        code = exit_info.code
    assert code == 2
    one_line_error(capsys, message)
    assert not out.exists()


def test_a_render_beyond_the_work_limit_is_refused_before_allocating(tmp_path, lgi_file, capsys, monkeypatch):
    import lgi_studio.io.render_limits as limits

    monkeypatch.setattr(limits, "MAX_RENDER_WORK", 1000)  # defect 19: what the file declares, not only pixels
    assert main(["decode", "-i", str(lgi_file), "-o", str(tmp_path / "o.png")]) == 2
    one_line_error(capsys, "million pixel evaluations")


@pytest.mark.parametrize("seed", ["-1", "4294967296", "x"])
def test_a_seed_out_of_range_is_a_one_line_error(tmp_path, capsys, seed):  # defect 18
    with pytest.raises(SystemExit) as exit_info:
        main(encode(tmp_path, "-o", str(tmp_path / "o.png"), "--seed", seed))
    assert exit_info.value.code == 2
    one_line_error(capsys, "--seed", "0 to 4294967295")


@pytest.mark.parametrize("name", ["y.lgi", "y.xyz", "y.LGI"])
def test_decode_writes_pictures_only(tmp_path, lgi_file, capsys, name):  # defect 20
    out = tmp_path / name
    assert main(["decode", "-i", str(lgi_file), "-o", str(out)]) == 2
    one_line_error(capsys, "is not a picture format we write")
    assert not out.exists()


def test_decode_writes_the_format_its_extension_names(tmp_path, lgi_file):
    for name, fmt in (("x.jpg", "JPEG"), ("x.webp", "WEBP"), ("x.bmp", "BMP"), ("noext", "PNG")):
        assert main(["decode", "-i", str(lgi_file), "-o", str(tmp_path / name)]) == 0
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt


def test_an_encode_picture_output_with_an_unknown_extension_is_refused_before_the_fit(tmp_path, capsys):
    assert main(encode(tmp_path, "-o", str(tmp_path / "x.xyz"))) == 2
    one_line_error(capsys, ".xyz is not a picture format")


def test_the_same_file_as_two_outputs_is_refused(tmp_path, capsys):
    assert main(encode(tmp_path, "-o", str(tmp_path / "x.lgi"), "--metrics-json", str(tmp_path / "x.lgi"))) == 2
    one_line_error(capsys, "the same file is named as two outputs")


def test_a_closed_pipe_ends_info_quietly(lgi_file, capsys, monkeypatch):  # defect 21
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return os.open(os.devnull, os.O_WRONLY)

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["info", str(lgi_file)]) == cli.EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_render_limits_reach_the_pixels_and_memory_promised(tmp_path):
    """8 MP at most: the float render, its 8-bit copy and the PNG stay far below 512 MiB."""
    from lgi_studio.io.render_limits import MAX_RENDER_PIXELS

    assert MAX_RENDER_PIXELS * (12 + 12 + 3 + 4) < 400 * 2**20
    assert np.iinfo(np.int32).max > MAX_RENDER_PIXELS


def test_an_error_raised_in_place_of_ctrl_c_ends_as_the_interrupt(tmp_path, capsys, monkeypatch):  # defect 13
    """Ctrl-C while Taichi's extension module initializes comes out as ImportError: still an interrupt."""
    from lgi_studio.interrupts import signals

    def interrupted_import(name):
        signals.received = 2  # what the SIGINT handler records, before Taichi swallows its exception
        raise ImportError("initialization failed")

    monkeypatch.setattr(cli, "_start_backend", interrupted_import)
    out = tmp_path / "o.png"
    assert main(encode(tmp_path, "-o", str(out))) == 130
    assert capsys.readouterr().err == "lgi: interrupted; nothing written\n"
    assert not out.exists()
    monkeypatch.setattr(cli, "_start_backend", lambda name: (_ for _ in ()).throw(ImportError("broken install")))
    with pytest.raises(ImportError, match="broken install"):  # without a signal, an error stays an error
        main(encode(tmp_path, "-o", str(out)))
