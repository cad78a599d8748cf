"""The Batch window, headless: a real ``lgi batch`` child process on tiny pictures, cancel, drop, open."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from lgi_studio.batch_cli import workers_and_threads
from lgi_studio.gui.batch_window import BatchWindow
from lgi_studio.gui.session import FitSettings
from lgi_studio.io.lgi_format import read_lgi

FAST = FitSettings(count=30, preset="fast", iterations=20, backend="cpu", qa_training=False)
TIMEOUT_MS = 120_000


def pictures(folder, count, size=(24, 32)):
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
        rgb = np.stack([xx * 7 + 40 * k, yy * 9, xx * 3 + yy], -1) % 256
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"p{k}.png")
    return folder


@pytest.fixture
def opened():
    return []


@pytest.fixture
def dialog(qtbot, opened):
    window = BatchWindow(FAST, opened.append)
    qtbot.addWidget(window)
    yield window
    window.close()
    assert not window.running


def statuses(window):
    return [window.table.item(r, 1).text() for r in range(window.table.rowCount())]


def test_a_folder_runs_to_two_finished_rows_and_a_result_opens(qtbot, dialog, opened, tmp_path):
    dialog.input_dir.setText(str(pictures(tmp_path / "in", 2)))
    assert dialog.output_dir.text() == str(tmp_path / "in-lgi")  # a default beside the folder
    assert statuses(dialog) == ["queued", "queued"]
    assert dialog.start_button.isEnabled()
    with qtbot.waitSignal(dialog.batch_finished, timeout=TIMEOUT_MS):
        dialog.start()
        assert dialog.running
        assert not dialog.start_button.isEnabled()
        assert dialog.cancel_button.isEnabled()
    assert statuses(dialog) == ["ok", "ok"], dialog.output_text
    out = tmp_path / "in-lgi"
    for r, name in enumerate(("p0", "p1")):
        size = (out / f"{name}.lgi").stat().st_size
        assert read_lgi(out / f"{name}.lgi").header.count == 30
        assert dialog.table.item(r, 0).text() == f"{name}.png"
        assert dialog.table.item(r, 2).text() == f"{size / 1000:.1f}"
        assert float(dialog.table.item(r, 4).text()) > 15  # PSNR
    report = str(out / "report.csv")
    assert (
        dialog.status.text()
        == f"2 of 2 pictures done, 0 failed; report in {report}. Double-click a picture to open it."
    )
    dialog.open_row(1)
    assert opened == [out / "p1.lgi"]


def test_cancel_stops_the_batch_and_keeps_no_partial_file(qtbot, dialog, tmp_path):
    dialog.fit = FitSettings(count=200, preset="fast", iterations=100_000, backend="cpu")
    dialog.input_dir.setText(str(pictures(tmp_path / "in", 3, size=(48, 64))))
    dialog.start()
    qtbot.waitUntil((tmp_path / "in-lgi").is_dir, timeout=TIMEOUT_MS)  # lgi is in its batch: it handles signals
    at_once = workers_and_threads(None, 3)[0]
    assert statuses(dialog) == ["encoding"] * at_once + ["queued"] * (3 - at_once)
    with qtbot.waitSignal(dialog.batch_finished, timeout=TIMEOUT_MS) as finished:
        dialog.cancel()
    assert finished.args[0] == 130, dialog.output_text  # lgi's own exit after a signal: it stopped cleanly
    assert "interrupted; 0 finished pictures kept" in dialog.output_text
    assert not dialog.running
    assert statuses(dialog) == ["cancelled"] * 3
    assert dialog.status.text().startswith("Cancelled: 0 of 3 pictures done")
    assert dialog.start_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    assert not [p for p in (tmp_path / "in-lgi").glob("*") if p.suffix != ".json" and p.suffix != ".csv"]


def test_a_dropped_folder_becomes_the_input(qtbot, dialog, tmp_path):
    folder = pictures(tmp_path / "dropped", 1)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    dialog.dropEvent(drop)
    assert drop.isAccepted()
    assert dialog.input_dir.text() == str(folder)
    assert statuses(dialog) == ["queued"]
    assert dialog.table.item(0, 0).text() == "p0.png"


def test_a_target_size_and_the_preset_go_to_lgi_batch(dialog, tmp_path):
    dialog.input_dir.setText(str(pictures(tmp_path / "in", 1)))
    dialog.by_size.setChecked(True)
    dialog.target_kb.setValue(3.5)
    dialog.preset.setCurrentText("high")
    settings = dialog.settings()
    assert (settings.target_kb, settings.fit.preset, settings.fit.iterations) == (3.5, "high", 20)
    assert not dialog.count.isEnabled()
    assert dialog.target_kb.isEnabled()


def test_the_file_menu_opens_it_with_the_panels_settings(qtbot, tmp_path):
    from lgi_studio.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(window)
    window.count.setValue(777)
    window.preset.setCurrentText("high")
    file_menu = window.menuBar().actions()[0].menu()
    assert window.actions["batch"] in file_menu.actions()
    window.actions["batch"].trigger()
    batch = window.batch_window
    assert batch.isVisible()
    assert batch.count.value() == 777
    assert batch.preset.currentText() == "high"
    assert batch.open_result == window.open_image
    window.close()


def test_closing_the_window_ends_a_running_batch(qtbot, opened, tmp_path):
    window = BatchWindow(FitSettings(count=200, preset="fast", iterations=100_000, backend="cpu"), opened.append)
    qtbot.addWidget(window)
    window.input_dir.setText(str(pictures(tmp_path / "in", 2, size=(48, 64))))
    window.start()
    qtbot.waitUntil((tmp_path / "in-lgi").is_dir, timeout=TIMEOUT_MS)
    process = window.process
    window.close()
    assert process.state() == process.ProcessState.NotRunning
    assert process.exitCode() == 130
