"""Defect 1: on a bare Debian 12 Qt aborted ("Could not load the Qt platform plugin xcb") and blamed the wrong
library. ``lgi-studio`` now checks first and says in one line what is missing and how to install it."""

import functools
from pathlib import Path

import pytest

from lgi_studio.gui import app, system_libs
from lgi_studio.gui.system_libs import APT_COMMAND, XCB_LIBRARIES, platform_will_be_xcb, xcb_problem

README = Path(__file__).resolve().parents[2] / "README.md"
PLUGIN = Path("/venv/PySide6/Qt/plugins/platforms/libqxcb.so")


def loader_without(*missing: str):
    """A dlopen that fails as glibc does for ``missing`` sonames and for the plugin that needs them."""

    def load(name: str) -> None:
        if name in missing or (name == str(PLUGIN) and missing):
            lacking = name if name in missing else missing[0]
            raise OSError(f"{lacking}: cannot open shared object file: No such file or directory")

    return load


def test_missing_libraries_are_named_with_the_command_that_installs_them():
    problem = xcb_problem(loader_without("libxcb-icccm.so.4", "libxcb-keysyms.so.1"), PLUGIN)
    assert "\n" not in problem
    assert "missing: libxcb-icccm.so.4, libxcb-keysyms.so.1;" in problem
    assert problem.endswith("install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1")


def test_one_package_is_named_once_for_two_of_its_libraries():
    problem = xcb_problem(loader_without("libglib-2.0.so.0", "libgthread-2.0.so.0"), PLUGIN)
    assert problem.endswith("sudo apt-get install libglib2.0-0")


def test_nothing_is_said_when_the_plugin_loads():
    assert xcb_problem(loader_without(), PLUGIN) is None


def test_a_plugin_failing_for_another_reason_gets_its_reason_and_the_full_line():
    def load(name: str) -> None:
        if name == str(PLUGIN):
            raise OSError("libfoo.so.9: cannot open shared object file")

    problem = xcb_problem(load, PLUGIN)
    assert "libfoo.so.9" in problem
    assert problem.endswith(APT_COMMAND)


def test_pyside6_ships_the_plugin_checked():
    assert system_libs.xcb_plugin().name == "libqxcb.so"


@pytest.mark.parametrize(
    ("environ", "platform", "xcb"),
    [
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_the_check_runs_only_where_qt_will_use_xcb(environ, platform, xcb):
    assert platform_will_be_xcb(environ, platform) is xcb


def test_lgi_studio_exits_2_with_one_line_instead_of_qt_abort(monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    fake = functools.partial(xcb_problem, loader_without("libxcb-icccm.so.4"), PLUGIN)
    monkeypatch.setattr(system_libs, "xcb_problem", fake)
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "libxcb-icccm.so.4" in err
    assert "sudo apt-get install libxcb-icccm4" in err


def test_the_readme_gives_exactly_the_apt_line_checked_here():
    lines = README.read_text().splitlines()
    assert APT_COMMAND in lines
    assert set(APT_COMMAND.split()[3:]) == set(XCB_LIBRARIES.values())
