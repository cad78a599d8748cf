"""The ``lgi`` command line, called in-process through ``main(argv)``."""

import pytest

from lgi_studio import __version__
from lgi_studio.cli import main
from lgi_studio.core.step_rule import position_step


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lgi {__version__}"


def test_backend_reports_the_running_backend(capsys):
    assert main(["backend"]) == 0
    assert capsys.readouterr().out.startswith("cpu: ")


def test_backend_refuses_an_unknown_name(capsys):
    assert main(["backend", "--backend", "quantum"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgi: error: unknown backend 'quantum'")
    assert "Traceback" not in err


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "lgi: error: the following arguments are required: COMMAND (see lgi --help)\n"


def _tiny_png(tmp_path):
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:24, 0:32]
    Image.fromarray(np.stack([xx * 8, yy * 10, xx * 4], -1).astype(np.uint8)).save(tmp_path / "in.png")
    return tmp_path / "in.png"


def test_encode_writes_the_reconstruction_and_metrics(tmp_path, capsys):
    import json

    from lgi_studio.io.images import load_image

    src = _tiny_png(tmp_path)
    out = tmp_path / "out.png"
    args = ["encode", "-i", str(src), "-o", str(out), "-n", "40", "--iterations", "60", "--quiet"]
    args += ["--metrics-json", str(tmp_path / "m.json"), "--metrics-csv", str(tmp_path / "m.csv")]
    assert main(args) == 0
    assert load_image(out).shape == (24, 32, 3)
    summary = json.loads((tmp_path / "m.json").read_text())
    assert summary["count"] == 40
    assert summary["iterations"] == 60
    assert summary["psnr"] > 20
    assert len(summary["history"]["psnr"]) == 60
    csv_lines = (tmp_path / "m.csv").read_text().splitlines()
    assert csv_lines[0] == "iteration,loss,psnr,elapsed,count"
    assert len(csv_lines) == 61
    assert "40 Gaussians, PSNR" in capsys.readouterr().out


def test_a_fit_ended_at_its_plateau_reports_the_iterations_it_ran(tmp_path):
    """A flat picture is fitted long before 5000 iterations: the plateau rule (core.plateau) ends the fit
    after its anneal (here near 1800 + 1000), and the summary counts what ran, not the budget."""
    import json

    import numpy as np
    from PIL import Image

    src = tmp_path / "flat.png"
    Image.fromarray(np.full((24, 32, 3), 100, np.uint8)).save(src)
    args = ["encode", "-i", str(src), "-o", str(tmp_path / "out.png"), "-n", "40", "--iterations", "5000"]
    assert main([*args, "--quiet", "--metrics-json", str(tmp_path / "m.json")]) == 0
    summary = json.loads((tmp_path / "m.json").read_text())
    ran = len(summary["history"]["iteration"])
    assert ran < 5000
    assert summary["iterations"] == ran


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-i", "missing.png"], "no such file"),
        (["-q", "turbo"], "preset must be one of"),
        (["-n", "0"], "count must be between"),
        (["-o", "/nonexistent-folder/x.png"], "does not exist"),
        (["--codebook-size", "lots"], "--codebook-size takes a whole number"),
        (["--codebook-size", "64"], "scheme lgi-sq has no codebook size to set"),
        (["--scheme", "gaussianimage", "--codebook-size", "64"], "scheme gaussianimage has no codebook size"),
        (["--scheme", "jpeg"], "scheme must be one of"),
        (["--qa-start", "2"], "qa_start must be"),
        (["--quant-steps", "fine"], "quant_steps must be one of"),
        (["--backend", "tpu"], "unknown backend"),
    ],
)
def test_encode_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    src = _tiny_png(tmp_path)
    base = {"-i": str(src), "-o": str(tmp_path / "o.png")}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        base[flag] = value
    argv = ["encode", "--iterations", "2", "--quiet"] + [x for kv in base.items() for x in kv]
    argv += [x for x in extra if x not in base and x not in base.values()]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgi: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_ctrl_c_writes_nothing(tmp_path, capsys, monkeypatch):
    import lgi_studio.core.fit as fit_module

    real_fit = fit_module.fit

    def interrupted(image, cfg):
        stream = real_fit(image, cfg)
        yield next(stream)
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "fit", interrupted)
    out = tmp_path / "out.png"
    assert main(["encode", "-i", str(_tiny_png(tmp_path)), "-o", str(out), "--iterations", "50", "--quiet"]) == 130
    assert not out.exists()
    assert "interrupted; nothing written" in capsys.readouterr().err


def test_encode_to_lgi_then_info_and_decode_at_another_size(tmp_path, capsys):
    import json

    from PIL import Image

    lgi = tmp_path / "x.lgi"
    args = ["encode", "-i", str(_tiny_png(tmp_path)), "-o", str(lgi), "-n", "40", "--iterations", "30"]
    assert main([*args, "--qa-training", "--metadata", "--quiet"]) == 0
    assert "bytes" in capsys.readouterr().out
    assert main(["info", str(lgi), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert 30 <= info["gaussians"] <= 40  # QA may drop Gaussians not worth their bits (core.rate)
    assert info["scheme"] == "lgi-sq"  # the default scheme
    parts = info["bits_by_part"]
    assert set(parts) == {"colour model", "positions", "sizes", "angles", "colours"}
    assert all(bits > 0 for bits in parts.values())
    assert info["file_bytes"] == lgi.stat().st_size
    assert info["metadata"]["qa_training"] is True
    assert info["lgi_steps"]["position_px"] == position_step(info["gaussians"], 32, 24)  # the operating point's
    assert info["colour_step"] > 0
    assert main([*args, "--quant-steps", "fixed", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["info", str(lgi), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lgi_steps"]["position_px"] == 0.25
    assert main(["decode", "-i", str(lgi), "-o", str(tmp_path / "big.png"), "--scale", "2"]) == 0
    assert Image.open(tmp_path / "big.png").size == (64, 48)
    assert main(["decode", "-i", str(lgi), "-o", str(tmp_path / "w.png"), "--width", "16"]) == 0
    assert Image.open(tmp_path / "w.png").size == (16, 12)
    assert main(["decode", "-i", str(lgi), "-o", str(tmp_path / "wh.png"), "--width", "10", "--height", "30"]) == 0
    assert Image.open(tmp_path / "wh.png").size == (10, 30)


@pytest.mark.parametrize("command", ["info", "decode"])
def test_corrupt_lgi_is_one_line_and_exit_2(tmp_path, capsys, command):
    bad = tmp_path / "bad.lgi"
    bad.write_bytes(b"\x89LGI\r\n\x1a\n" + b"\0" * 30)
    argv = ["info", str(bad)] if command == "info" else ["decode", "-i", str(bad), "-o", str(tmp_path / "o.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgi: error: ")
    assert "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
