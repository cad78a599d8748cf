"""The window as a designer meets it (issue 16's defects 3-9 and what a designer expects), headless, with
the real engine process. Fits are short (60 Gaussians, 150 iterations) so each test takes seconds."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QMessageBox,
    QSlider,
    QSpinBox,
)

from lgi_studio.gui.main_window import CODEBOOK_STOPS, MainWindow

TIMEOUT_MS = 90_000


def fit(qtbot, window, picture):
    assert window.open_image(picture)
    window.start_fit()
    qtbot.waitUntil(lambda: window.session.state == "done", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)


def test_a_new_fit_over_an_unsaved_result_asks_first(qtbot, window, picture, tmp_path):
    fit(qtbot, window, picture)
    first = window.session.current
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or "cancel"
    window.start_fit()
    assert asked
    assert window.session.state == "done"
    assert window.session.current is first
    window.ask_unsaved = lambda: "save"
    window.save_path = lambda: str(tmp_path / "kept.lgi")
    window.start_fit()  # saves, then starts once the file is written
    qtbot.waitUntil(lambda: window.session.state == "done" and window.session.current is not first, timeout=TIMEOUT_MS)
    assert (tmp_path / "kept.lgi").stat().st_size == first.file.bytes
    assert first.saved == tmp_path / "kept.lgi"


def test_closing_over_an_unsaved_result_asks_first(qtbot, window, picture, tmp_path):
    fit(qtbot, window, picture)
    window.ask_unsaved = lambda: "cancel"
    window.close()
    assert window.isVisible()
    assert window.engine.alive
    window.ask_unsaved = lambda: "save"
    window.save_path = lambda: str(tmp_path / "before-closing.lgi")
    window.close()  # saves, then closes once the file is written
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert (tmp_path / "before-closing.lgi").stat().st_size == window.session.current.file.bytes
    assert not window.engine.alive


def test_a_failed_save_does_not_go_on(qtbot, window, picture, tmp_path, monkeypatch):
    fit(qtbot, window, picture)
    first = window.session.current
    window.ask_unsaved = lambda: "save"
    window.save_path = lambda: str(tmp_path / "x.lgi")
    monkeypatch.setattr(window, "export_lgi", lambda path: window.engine.send("export", {"path": "/"}) or True)
    window.start_fit()
    qtbot.waitUntil(lambda: window.status.text().startswith("Error: "), timeout=TIMEOUT_MS)
    qtbot.wait(200)
    assert window.session.current is first
    assert window.session.state == "done"


def test_opening_another_picture_over_an_unsaved_result_asks_first(qtbot, window, picture, tmp_path):
    fit(qtbot, window, picture)
    other = tmp_path / "other.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(other)
    window.ask_unsaved = lambda: "cancel"
    assert not window.open_image(other)
    assert window.session.picture.path == picture
    assert window.actions["export"].isEnabled()
    window.ask_unsaved = lambda: "discard"
    assert window.open_image(other)
    assert window.session.picture.path == other


def test_a_stopped_fit_keeps_its_result_and_everything_works_on_it(qtbot, window, picture, tmp_path):
    window.session.set_settings(iterations=20_000)
    window.open_image(picture)
    window.start_fit()
    qtbot.waitUntil(lambda: len(window.plots.iterations) > 20, timeout=TIMEOUT_MS)
    window.stop_fit()
    qtbot.waitUntil(lambda: window.session.state == "done", timeout=TIMEOUT_MS)
    result = window.session.current
    assert result.stopped
    assert 20 < result.iterations < 20_000
    for key in ("export", "export_png", "export_metrics"):
        assert window.actions[key].isEnabled()
    assert window.slider.isEnabled()
    window.slider.setValue(CODEBOOK_STOPS.index(32))
    qtbot.waitUntil(lambda: result.codebook == 32 and result.file is not None, timeout=TIMEOUT_MS)
    out = tmp_path / "stopped.lgi"
    window.export_lgi(out)
    qtbot.waitUntil(lambda: result.saved == out, timeout=TIMEOUT_MS)
    assert out.stat().st_size == result.file.bytes


def visible_fraction(view, width: int, height: int) -> float:
    """How much of the view's shorter side the picture fills (1: fitted), and it must be inside the view."""
    (x0, x1), (y0, y1) = view.viewRange()
    assert x0 <= 0.5
    assert y0 <= 0.5
    assert x1 >= width - 0.5
    assert y1 >= height - 0.5
    return max(width / (x1 - x0), height / (y1 - y0))


def test_an_lgi_opens_fitted_to_the_view_and_keys_fit_and_zoom(qtbot, window, tmp_path):
    from lgi_studio.io.lgi_format import write_lgi
    from tests.io.test_lgi_format import quantized

    path = tmp_path / "x.lgi"
    write_lgi(path, quantized())
    window.pair.views[1].setRange(xRange=(60, 62), yRange=(40, 42), padding=0)  # a previous zoom
    window.open_image(path)
    qtbot.waitUntil(lambda: window.pair.reconstruction is not None, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert visible_fraction(window.pair.views[1], 64, 48) > 0.9
    assert window.readout.text().startswith("x.lgi: .lgi ")
    window.actions["zoom_100"].trigger()
    (x0, x1), _ = window.pair.views[1].viewRange()
    assert x1 - x0 == pytest.approx(window.pair.views[1].width(), rel=0.02)  # a screen pixel per picture pixel
    window.actions["fit_view"].trigger()
    assert visible_fraction(window.pair.views[1], 64, 48) > 0.9
    assert window.actions["fit_view"].shortcut().toString() == "0"
    assert window.actions["zoom_100"].shortcut().toString() == "1"
    window.pair.views[1].setRange(xRange=(10, 12), yRange=(10, 12), padding=0)
    window.pair.reset_on_double_click()
    assert visible_fraction(window.pair.views[1], 64, 48) > 0.9


def test_a_picture_opens_fitted_after_a_previous_zoom(qtbot, window, picture):
    window.pair.views[0].setRange(xRange=(1, 3), yRange=(1, 3), padding=0)
    window.open_image(picture)
    qtbot.wait(50)
    assert visible_fraction(window.pair.views[0], 64, 48) > 0.9


def test_zooming_out_never_loses_the_picture(qtbot, window, picture):
    window.open_image(picture)
    qtbot.wait(50)
    view = window.pair.views[0]
    for _ in range(40):
        view.scaleBy((1.5, 1.5))
    (x0, x1), (y0, y1) = view.viewRange()
    assert x0 < 0 < 64 < x1
    assert y0 < 0 < 48 < y1
    assert max(64 / (x1 - x0), 48 / (y1 - y0)) > 0.1  # and not shrunk to a dot
    window.actions["fit_view"].trigger()
    assert visible_fraction(view, 64, 48) > 0.9


def test_the_slider_readout_and_the_way_back(qtbot, window, picture):
    fit(qtbot, window, picture)
    own = window.session.current.file
    assert "Export .lgi writes lgi-sq" in window.slider_label.text()
    assert f"{own.psnr - window.session.current.psnr:+.2f} dB" in window.slider_label.text()
    assert not window.restore_button.isEnabled()
    window.slider.setValue(CODEBOOK_STOPS.index(32))
    qtbot.waitUntil(lambda: window.session.current.codebook == 32, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)
    assert "Export .lgi writes lgi with 32 colours" in window.slider_label.text()
    assert window.restore_button.isEnabled()
    window.restore_button.click()
    qtbot.waitUntil(
        lambda: window.session.current.file is not None and window.session.current.codebook is None, timeout=TIMEOUT_MS
    )
    assert window.session.current.file == own


def test_panel_states_follow_the_settings(window):
    window.qa.setChecked(False)
    assert not window.qa_start.isEnabled()
    window.qa.setChecked(True)
    assert window.qa_start.isEnabled()
    window.adaptive.setChecked(True)
    assert not window.count.isEnabled()
    assert window.session.settings.adaptive


def test_error_dialogs_do_not_stack(window):
    window.show_error("first")
    window.show_error("second")
    boxes = [w for w in QApplication.topLevelWidgets() if w.isVisible() and isinstance(w, QMessageBox)]
    assert len(boxes) == 1
    assert "second" in boxes[0].text()


def test_a_corrupt_lgi_leaves_no_name_in_the_title_and_the_picture_open(qtbot, window, picture, tmp_path):
    window.open_image(picture)
    bad = tmp_path / "bad.lgi"
    bad.write_bytes(b"\x89LGI\r\n\x1a\n garbage")
    window.open_image(bad)
    qtbot.waitUntil(lambda: window.status.text().startswith("Error: "), timeout=TIMEOUT_MS)
    assert window.windowTitle() == "LGI Studio — pic.png"
    assert window.pair.original is window.session.picture.pixels
    assert window.actions["start"].isEnabled()


def test_exports_metrics_from_the_results_own_settings(qtbot, window, picture, tmp_path):
    assert not window.actions["export_metrics"].isEnabled()
    fit(qtbot, window, picture)
    window.preset.setCurrentText("ultra")
    path = tmp_path / "m.json"
    assert window.export_metrics(path)
    data = json.loads(path.read_text())
    assert data["config"]["preset"] == "fast"
    assert "overlay" not in data
    assert data["bytes"] == window.session.current.file.bytes
    assert data["bpp"] > 0
    assert data["qa_start_iteration"] == 150  # lgi-sq's QA tunes the finished 150-iteration fit
    assert all(isinstance(i, int) for i in data["history"]["iteration"])


def test_export_lgi_checks_the_folder_first_and_shows_progress_at_once(qtbot, window, picture, tmp_path, monkeypatch):
    fit(qtbot, window, picture)
    sent = []
    monkeypatch.setattr(window.engine, "send", lambda *command: sent.append(command))
    assert not window.export_lgi(tmp_path / "missing" / "x.lgi")
    assert window.status.text().startswith("Error: ")
    assert "does not exist" in window.status.text()
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    assert not window.export_lgi(locked / "x.lgi")  # refused before any work, not after it
    assert "locked is not writable" in window.status.text()
    assert sent == []
    assert window.export_lgi(tmp_path / "x.lgi")
    assert window.status.text() == "Writing x.lgi…"
    assert sent == [("export", {"path": str(tmp_path / "x.lgi")})]


def test_the_png_size_prompt_shows_pixels(window):
    from lgi_studio.gui.dialogs import PngSizeDialog

    dialog = PngSizeDialog(64, 48, window)
    assert "64x48 px" in dialog.pixels.text()
    dialog.scale.setValue(2.0)
    assert "128x96 px" in dialog.pixels.text()


def press(widget, kind, pos: QPoint, buttons) -> None:
    button = Qt.LeftButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def test_the_split_divider_is_draggable(qtbot, window, picture):
    fit(qtbot, window, picture)
    window.view_mode.setCurrentIndex(window.view_mode.findData("split"))
    qtbot.wait(100)
    pair = window.pair
    canvas, view = pair.canvases[1], pair.views[1]
    start = canvas.mapFromScene(view.mapViewToScene(QPointF(32, 24)))
    end = canvas.mapFromScene(view.mapViewToScene(QPointF(48, 24)))
    viewport = canvas.viewport()
    press(viewport, QEvent.MouseButtonPress, start, Qt.LeftButton)
    for step in range(1, 6):
        press(viewport, QEvent.MouseMove, start + (end - start) * step / 5, Qt.LeftButton)
    press(viewport, QEvent.MouseButtonRelease, end, Qt.NoButton)
    assert pair.split == pytest.approx(0.75, abs=0.05)


def test_sizes_compare_and_help(qtbot, window, picture):
    fit(qtbot, window, picture)
    assert "→ .lgi" in window.readout.text()
    assert "KB" in window.readout.text()
    assert "bpp" in window.readout.text()
    window.count.setValue(40)
    window.ask_unsaved = lambda: "discard"
    window.start_fit()

    def second_done() -> bool:  # fitted with 40; rate-distortion pruning may keep fewer in the result
        current = window.session.current
        return window.session.state == "done" and current.number == 2 and current.settings.count == 40

    qtbot.waitUntil(second_done, timeout=TIMEOUT_MS)
    assert window.compare_left.count() == 3  # the original and two kept results
    assert window.compare_left.itemText(2).startswith("#1: ")
    window.view_mode.setCurrentIndex(window.view_mode.findData("split"))
    window.compare_left.setCurrentIndex(2)  # the older result left, the current right
    left, right = window.session.compare_frames()
    assert left is window.session.kept[1].frame
    assert right is window.session.current.frame
    assert not np.array_equal(window.pair.items[1].image, right)
    qtbot.wait(50)
    assert window.width() == 1100  # the caption naming both sides never widens the window
    controls = (QAbstractButton, QComboBox, QSlider, QSpinBox, QDoubleSpinBox, QCheckBox)
    shown = [w for kind in controls for w in window.findChildren(kind) if w.isVisibleTo(window)]
    missing = [w.text() if hasattr(w, "text") else type(w).__name__ for w in shown if not w.toolTip()]
    assert not missing
    assert all(len(a.toolTip()) > len(a.text()) for a in window.actions.values())  # says more than the name
    assert "cpu" in window.about_text()
    assert "Licence" in window.about_text()
    assert window.plots.psnr_plot.getAxis("bottom").labelText == "iteration"


def test_the_lists_come_from_the_codec_names(window):
    from lgi_kernels import RenderMode
    from lgi_studio.core.scheme_names import PRESETS, RENDER_MODES, SCHEMES

    def items(box):
        return [box.itemText(i) for i in range(box.count())]

    assert list(RENDER_MODES) == [mode.value for mode in RenderMode]
    assert items(window.preset) == list(PRESETS)
    assert items(window.scheme) == list(SCHEMES)
    assert items(window.mode) == items(window.ab_mode) == list(RENDER_MODES)


def test_space_pauses_after_start_even_from_the_count_field(qtbot, window, picture):
    from PySide6.QtWidgets import QAbstractSpinBox

    window.open_image(picture)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.count.setFocus()
    qtbot.waitUntil(lambda: window.count.hasFocus(), timeout=5_000)
    window.session.set_settings(iterations=20_000)
    window.start_fit()
    qtbot.waitUntil(lambda: len(window.plots.iterations) > 3, timeout=TIMEOUT_MS)
    assert not isinstance(QApplication.focusWidget(), QAbstractSpinBox)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Space)
    qtbot.waitUntil(lambda: window.session.state == "paused", timeout=5_000)
    window.stop_fit()


def test_a_jpeg_opens_at_once_and_its_png_size_follows(qtbot, window, tmp_path):
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(jpeg)
    assert window.open_image(jpeg)
    qtbot.waitUntil(lambda: "(as PNG " in window.readout.text(), timeout=10_000)
    assert window.session.picture.png_bytes == window.session.picture.png_size()


def test_a_first_start_fits_the_window_on_the_screen(qtbot, tmp_path):
    """On a 1280x800 screen the 1280x820 default put the status line below the screen's edge."""
    w = MainWindow(settings=QSettings(str(tmp_path / "fresh.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    available = w.screen().availableGeometry()
    w.show()
    qtbot.waitExposed(w)
    assert w.frameGeometry().height() <= available.height()
    assert w.frameGeometry().width() <= available.width()
    w.close()
