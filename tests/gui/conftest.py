"""Fixtures the window tests share."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from lgi_studio.gui.main_window import MainWindow


@pytest.fixture
def picture(tmp_path):
    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)
    rgb[10:20, 10:30] = [250, 40, 40]
    path = tmp_path / "pic.png"
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown window with the real engine, set for short fits (60 Gaussians, 150 iterations)."""
    w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.ask_unsaved = lambda: "discard"  # tests that want the prompt replace this
    w.count.setValue(60)
    w.preset.setCurrentText("fast")
    w.session.set_settings(iterations=150)
    w.resize(1100, 760)
    w.show()
    yield w
    w.ask_unsaved = lambda: "discard"  # a test may have left a prompt answer that keeps the window open
    w.close()
    assert not w.engine.alive
