"""The desktop app, headless (QT_QPA_PLATFORM=offscreen): real window, real engine process."""

import json
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from lgi_studio.gui.main_window import CODEBOOK_STOPS, MainWindow
from lgi_studio.io.lgi_format import read_lgi

TIMEOUT_MS = 90_000


@pytest.fixture
def window(window):
    """The shared window with the preset's own iterations (these tests count them) and a 16-entry colour
    codebook (the tests of the codebook slider need one)."""
    window.session.set_settings(iterations=None)
    window.codebook.setCurrentText("16")
    return window


def test_fit_shows_frames_marks_qa_requantizes_and_exports(qtbot, window, picture, tmp_path):
    assert window.open_image(picture)
    window.qa.setChecked(True)
    window.start_fit()
    qtbot.waitUntil(lambda: window.state == "done", timeout=TIMEOUT_MS)
    assert window.plots.iterations[-1] == 650  # lgi-sq: the 500-iteration fit, then 150 of QA tuning
    assert window.plots.qa_marked  # the QA switch is drawn on the plots
    assert not window.grab().isNull()  # paint everything once: plots, views, marker
    assert window.pair.items[1].image is not None
    assert 50 <= window.session.current.count <= 60  # QA may drop Gaussians not worth their bits
    assert "Backend" not in window.backend_label.text()
    assert window.backend_label.text().startswith("cpu")

    qtbot.waitUntil(lambda: "warmed" in window.last_result, timeout=TIMEOUT_MS)
    assert window.last_result["warmed"]["sizes"] == [16, 32]  # every slider size a 60-Gaussian fit allows
    window.slider.setValue(CODEBOOK_STOPS.index(32))
    qtbot.waitUntil(lambda: "requantized" in window.last_result, timeout=TIMEOUT_MS)
    assert window.last_result["requantized"]["size"] == 32
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)
    assert "PSNR" in window.slider_label.text()

    out = tmp_path / "out.lgi"
    window.export_lgi(out)
    qtbot.waitUntil(lambda: "exported" in window.last_result, timeout=TIMEOUT_MS)
    assert 0 < read_lgi(out).header.count <= window.session.current.count  # the file may prune some
    assert window.last_result["exported"]["bytes"] == out.stat().st_size

    for mode in ("split", "error"):
        window.view_mode.setCurrentIndex(window.view_mode.findData(mode))
        shown = window.pair.items[1].image
        assert shown.shape == window.pair.reconstruction.shape
        assert not np.array_equal(shown, window.pair.reconstruction)
        assert window.pair.canvases[0].isVisible() == (mode == "error")  # split draws both in one view
    window.view_mode.setCurrentIndex(window.view_mode.findData("side"))

    csv_path, json_path = tmp_path / "m.csv", tmp_path / "m.json"
    assert window.export_metrics(csv_path)
    assert window.export_metrics(json_path)
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "iteration,psnr,loss"
    assert len(rows) == len(window.plots.iterations) + 1
    assert json.loads(json_path.read_text())["count"] == window.session.current.count
    assert not window.export_metrics(tmp_path / "missing" / "m.csv")
    assert window.status.text().startswith("Error: ")


def test_an_explicit_backend_goes_with_the_fit(qtbot, window, picture):
    """Metal never starts on Linux or Windows: the choice must reach the engine and come back as an error."""
    window.open_image(picture)
    window.backend.setCurrentText("metal")
    window.start_fit()
    qtbot.waitUntil(lambda: window.status.text().startswith("Error: "), timeout=TIMEOUT_MS)
    assert "metal" in window.status.text().lower()
    assert window.state == "idle"
    assert window.engine.alive


def test_cancel_mid_fit(qtbot, window, picture):
    window.open_image(picture)
    window.preset.setCurrentText("ultra")
    window.start_fit()
    qtbot.waitUntil(lambda: len(window.plots.iterations) > 3, timeout=TIMEOUT_MS)
    window.stop_fit()
    qtbot.waitUntil(lambda: window.state == "done", timeout=5_000)  # stopped, with its result
    assert window.plots.iterations[-1] < 10_000
    assert window.engine.alive  # the engine stays up for the next fit


def test_pause_and_resume(qtbot, window, picture):
    window.open_image(picture)
    window.preset.setCurrentText("ultra")
    window.start_fit()
    qtbot.waitUntil(lambda: len(window.plots.iterations) > 3, timeout=TIMEOUT_MS)
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.state == "paused", timeout=5_000)
    seen = len(window.plots.iterations)
    qtbot.wait(300)
    assert len(window.plots.iterations) <= seen + 1  # nothing moves while paused
    window.toggle_pause()
    qtbot.waitUntil(lambda: len(window.plots.iterations) > seen + 5, timeout=TIMEOUT_MS)
    window.stop_fit()
    qtbot.waitUntil(lambda: window.state == "done", timeout=5_000)


def test_twenty_start_stop_cycles_leak_nothing(qtbot, window, picture):
    window.open_image(picture)
    window.preset.setCurrentText("ultra")
    window.ask_unsaved = lambda: "discard"
    threads_before = threading.active_count()
    for _ in range(20):
        window.start_fit()
        qtbot.waitUntil(lambda: len(window.plots.iterations) > 0, timeout=TIMEOUT_MS)
        window.stop_fit()
        qtbot.waitUntil(lambda: window.state == "done", timeout=5_000)
    assert threading.active_count() == threads_before
    assert window.engine.alive


def test_closing_during_a_fit_stops_the_engine(qtbot, tmp_path, picture):
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.count.setValue(60)
    w.preset.setCurrentText("ultra")
    w.open_image(picture)
    w.start_fit()
    qtbot.waitUntil(lambda: len(w.plots.iterations) > 0, timeout=TIMEOUT_MS)
    process = w.engine.worker.process
    w.close()
    assert not process.is_alive()


def test_a_corrupt_picture_is_reported_not_fatal(window, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert not window.open_image(bad)
    assert window.status.text().startswith("Error: ")
    assert window.state == "idle"


def test_settings_are_remembered(qtbot, tmp_path, picture):
    settings = QSettings(str(tmp_path / "keep.ini"), QSettings.IniFormat)
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.count.setValue(1234)
    first.scheme.setCurrentText("vq")
    first.qa.setChecked(False)
    first.qa_start.setValue(0.85)
    first.view_mode.setCurrentIndex(first.view_mode.findData("error"))
    first.splitters["body"].setSizes([400, 800])
    first.open_image(picture)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.count.value() == 1234
    assert second.scheme.currentText() == "vq"
    assert second.codebook.isEnabled()
    assert not second.qa.isChecked()
    assert second.qa_start.value() == pytest.approx(0.85)
    assert second.view_mode.currentData() == "error"
    assert second.splitters["body"].saveState() == first.splitters["body"].saveState()
    assert second.recent_files() == [str(picture.resolve())]
    second._fill_recent()
    (entry,) = second.recent_menu.actions()
    assert entry.text() == picture.name
    entry.trigger()  # opens it again
    assert second.image_path == picture
    second.close()


def test_opening_an_lgi_file_renders_it(qtbot, window, tmp_path):
    from lgi_studio.io.lgi_format import write_lgi
    from tests.io.test_lgi_format import quantized

    path = tmp_path / "x.lgi"
    size = write_lgi(path, quantized())
    assert window.open_image(path)
    qtbot.waitUntil(lambda: "lgi_opened" in window.last_result, timeout=TIMEOUT_MS)
    opened = window.last_result["lgi_opened"]
    assert opened["count"] == 60
    assert opened["bytes"] == size
    assert window.pair.items[1].image.shape == (48, 64, 3)


def test_compare_tools_on_an_opened_lgi(qtbot, window, tmp_path):
    """Ellipse overlay, render-mode A/B, a crisp zoomed render and PNG export at another size."""
    from lgi_studio.io.lgi_format import write_lgi
    from tests.io.test_lgi_format import quantized

    path = tmp_path / "x.lgi"
    write_lgi(path, quantized())
    window.open_image(path)
    qtbot.waitUntil(lambda: "lgi_opened" in window.last_result, timeout=TIMEOUT_MS)
    assert window.ab_mode.isEnabled()
    assert window.actions["export_png"].isEnabled()

    window.ellipses.setChecked(True)
    qtbot.waitUntil(lambda: "overlay" in window.last_result, timeout=TIMEOUT_MS)
    assert len(window.last_result["overlay"]["means"]) == 60
    assert len(window.pair.overlay) > 1  # coloured by the file's own codebook entries

    before = window.pair.items[1].image.copy()
    window.ab_mode.setCurrentText("alpha")
    qtbot.waitUntil(lambda: not np.array_equal(window.pair.items[1].image, before), timeout=TIMEOUT_MS)
    assert window.status.text() == "Rendered by alpha (alpha compositing)."

    window.resize(1000, 700)
    qtbot.wait(20)  # let the re-render's pending fit-to-view (a zero timer) and the resize run first
    view = window.pair.views[1]
    view.setRange(xRange=(8, 24), yRange=(8, 20), padding=0)
    view.sigRangeChangedManually.emit([True, True])  # as a wheel or drag does: the view stops fitting itself
    window.request_zoom()
    (x0, x1), (y0, y1) = view.viewRange()  # the aspect lock widens one side
    x0, x1, y0, y1 = max(x0, 0), min(x1, 64), max(y0, 0), min(y1, 48)
    assert (x0, y0) != (0, 0)  # zoomed in, not fitted back to the whole picture

    def zoom_rect() -> tuple[float, float, float, float]:
        rect = window.pair.zoom_item.mapRectToParent(window.pair.zoom_item.boundingRect())
        return rect.left(), rect.top(), rect.right(), rect.bottom()

    # an earlier re-render (the resize's) may show first: wait for the one of this range
    qtbot.waitUntil(
        lambda: window.pair.zoom_item.isVisible() and zoom_rect() == pytest.approx((x0, y0, x1, y1), abs=1e-3),
        timeout=TIMEOUT_MS,
    )
    assert window.pair.zoom_item.image.shape[1] > 4 * (x1 - x0)  # screen resolution, not source pixels

    png = tmp_path / "big.png"
    window.export_png(png, scale=2.0)
    qtbot.waitUntil(lambda: "png_exported" in window.last_result, timeout=TIMEOUT_MS)
    with Image.open(png) as im:
        assert im.size == (128, 96)


def test_a_corrupt_lgi_is_reported_not_fatal(qtbot, window, tmp_path):
    bad = tmp_path / "bad.lgi"
    bad.write_bytes(b"\x89LGI\r\n\x1a\n garbage")
    window.open_image(bad)
    qtbot.waitUntil(lambda: window.status.text().startswith("Error: "), timeout=TIMEOUT_MS)
    assert window.engine.alive


def test_the_codebook_size_goes_only_to_schemes_that_have_one(window):
    """lgi-sq refuses a codebook size: the greyed-out box must not send the one it still shows."""
    window.scheme.setCurrentText("lgi-sq")
    assert window.session.settings.config()["codebook_size"] is None
    window.scheme.setCurrentText("lgi")
    assert window.session.settings.config()["codebook_size"] == 16
