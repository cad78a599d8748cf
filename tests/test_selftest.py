"""The installation self-test (``lgi-studio --self-test``, ``lgi self-test``) on this installation."""

from lgi_studio import selftest
from lgi_studio.cli import main as cli_main
from lgi_studio.gui.app import main as app_main
from lgi_studio.io.lgi_format import read_lgi


def test_self_test_passes_in_process_and_in_the_engine(tmp_path):
    lines = []
    assert selftest.run_self_test(tmp_path, say=lines.append) == 0
    report = "\n".join(lines)
    assert lines[-1].startswith("self-test passed")
    assert "on cpu" in report
    assert "engine: fit in a spawned process" in report
    for name in ("in-process.lgi", "engine.lgi"):
        assert read_lgi(tmp_path / name).header.count == selftest.COUNT


def test_self_test_names_the_check_that_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(selftest, "MIN_PSNR", 99.0)
    lines = []
    assert selftest.run_self_test(tmp_path, engine=False, say=lines.append) == 1
    assert lines[-1].startswith("self-test FAILED: encode: PSNR")


def test_both_commands_run_it(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(selftest, "run_self_test", lambda engine=True: calls.append(engine) or 0)
    assert app_main(["--self-test"]) == 0
    assert cli_main(["self-test", "--no-engine"]) == 0
    assert calls == [True, False]


def test_self_test_encodes_through_the_codec_pipeline(tmp_path, monkeypatch):
    """What the self-test checks is what ships: the codec's pipeline, colour refit included."""
    from lgi_studio import codec
    from lgi_studio.core import fit as fit_module

    calls = []
    real_pack, real_refit = codec.pack_fit, fit_module.refit_codebooks_steps
    monkeypatch.setattr(codec, "pack_fit", lambda *a, **k: calls.append("pack") or real_pack(*a, **k))
    monkeypatch.setattr(
        fit_module, "refit_codebooks_steps", lambda *a, **k: calls.append("refit") or real_refit(*a, **k)
    )
    assert selftest.run_self_test(tmp_path, engine=False, say=lambda line: None) == 0
    assert calls == ["pack", "refit"]
