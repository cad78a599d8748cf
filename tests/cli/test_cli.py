"""The ``lgi`` command line, called in-process through ``main(argv)``."""

import pytest

from lgi_studio import __version__
from lgi_studio.cli import main
from lgi_studio.gui.app import main as gui_main


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
    assert "usage: lgi" in capsys.readouterr().err


def test_gui_entry_point_exists(capsys):
    assert gui_main([]) == 0
    assert "LGI Studio" in capsys.readouterr().out
