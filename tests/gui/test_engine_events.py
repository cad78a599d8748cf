"""The window handles every event the engine can send; one it does not know is shown, never dropped."""

import pytest
from PySide6.QtCore import QSettings

from lgi_studio.engine import events as ev
from lgi_studio.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(window)
    yield window
    window.close()


def test_the_wiring_has_a_handler_for_every_event(window):
    assert {event.kind for event in ev.EVENTS} <= set(window.wiring.handlers)


def test_an_event_without_a_handler_is_shown_as_an_error(window, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "show_error", shown.append)

    class Unknown(ev.Event):
        kind = "unknown"

    window.wiring.on_event(Unknown())
    assert shown == ["The engine sent an event this window does not know: 'unknown'"]


def test_a_refused_command_is_said_in_the_status_line(window):
    window.wiring.on_event(ev.Refused("stop", "no fit is running"))
    assert window.status.text() == "Not now (no fit is running): stop."
