"""The window handles every event the engine can send (a missing handler raises instead of dropping it)."""

import pytest
from PySide6.QtCore import QSettings

from lgi_studio.engine import events as ev
from lgi_studio.gui.main_window import MainWindow


@pytest.mark.parametrize("event", ev.EVENTS, ids=lambda event: event.kind)
def test_the_window_has_a_handler_for_every_event(event):
    assert callable(getattr(MainWindow, f"_on_{event.kind}", None))


def test_an_event_without_a_handler_is_an_error(qtbot, tmp_path):
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(window)

    class Unknown(ev.Event):
        kind = "unknown"

    with pytest.raises(AttributeError, match="_on_unknown"):
        window.on_event(Unknown())
    window.close()
