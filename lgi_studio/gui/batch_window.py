"""The Batch window: a folder of pictures to ``.lgi`` files by ``lgi batch`` in a child process (no Taichi in
the GUI process: a launch holds the GIL), its queue followed through the report the batch rewrites after
every picture. Cancel ends the process; the finished files stay, and Start again resumes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lgi_studio.batch_cli import workers_and_threads
from lgi_studio.core.scheme_names import PRESETS

from .batch_queue import BatchSettings, QueueRow, batch_command, pictures_in, queue_rows, read_report, summary
from .session import FitSettings

COLUMNS = ("Picture", "Status", "KB", "bpp", "PSNR (dB)", "Seconds")
POLL_MS = 400
KILL_AFTER_MS = 10_000  # a batch that ignores SIGTERM this long is killed (finished files stay either way)


def _row(*widgets: QWidget, stretch: bool = True) -> QWidget:
    """Widgets side by side in one form row; with ``stretch`` they keep their size, left-aligned."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget, 0 if stretch else int(widget is widgets[0]))
    if stretch:
        row.addStretch(1)
    return box


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class BatchWindow(QDialog):
    """Choose a folder and settings, start ``lgi batch``, watch each picture finish, open any result."""

    batch_finished = Signal(int)  # lgi batch's exit code: 0 all done, 1 some failed, 130 cancelled

    def __init__(self, fit: FitSettings, open_result: Callable[[Path], object], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Batch — LGI Studio")
        self.setAcceptDrops(True)
        self.fit = fit
        self.open_result = open_result
        self.process: QProcess | None = None
        self.pictures: list[Path] = []
        self.rows: list[QueueRow] = []
        self.before: dict[str, dict] = {}
        self.output_text = ""
        self.poll = QTimer(self, interval=POLL_MS, timeout=self.refresh)
        self._build()
        self._enable()

    # layout ------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._form())
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start", clicked=self.start)
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel)
        self.cancel_button.setToolTip("Stop the batch: finished files stay, Start again goes on from there")
        self.progress = QProgressBar(textVisible=True)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        layout.addLayout(buttons)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.cellDoubleClicked.connect(self.open_row)
        self.table.setToolTip("Double-click a finished picture to open its .lgi in the main window")
        layout.addWidget(self.table, 1)
        self.status = QLabel("Drop a folder of pictures here, or choose one above.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.resize(720, 480)

    def _form(self) -> QFormLayout:
        """One form, so that the labels line up: the two folders, how to size each file, the preset."""
        form = QFormLayout()
        self.input_dir = QLineEdit(placeholderText="a folder of pictures (drop one here)")
        self.output_dir = QLineEdit(placeholderText="where the .lgi files and report.csv go")
        self.input_dir.textChanged.connect(self._input_changed)
        self.output_dir.textChanged.connect(self._enable)
        self.choosers = []
        for label, edit, title in (
            ("Pictures", self.input_dir, "Folder of pictures"),
            ("Output", self.output_dir, "Output folder"),
        ):
            chooser = QPushButton("Choose…", clicked=lambda _=False, e=edit, t=title: self._choose(e, t))
            self.choosers.append(chooser)
            form.addRow(label, _row(edit, chooser, stretch=False))
        self.by_count = QRadioButton("Gaussians", checked=True)
        self.by_size = QRadioButton("Target size")
        group = QButtonGroup(self)
        group.addButton(self.by_count)
        group.addButton(self.by_size)
        self.count = QSpinBox(minimum=16, maximum=200_000, singleStep=500, value=self.fit.count)
        self.target_kb = QDoubleSpinBox(minimum=0.1, maximum=100_000, value=20.0, suffix=" KB", decimals=1)
        self.target_kb.setToolTip("The file size each picture's .lgi should reach (KB = 1000 bytes)")
        self.by_count.toggled.connect(self._enable)
        form.addRow("Each file", _row(self.by_count, self.count, QLabel("   "), self.by_size, self.target_kb))
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText(self.fit.preset)
        self.recursive = QCheckBox("Include subfolders")
        self.recursive.toggled.connect(lambda _: self._input_changed())
        form.addRow("Preset", _row(self.preset, QLabel("   "), self.recursive))
        return form

    def _choose(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    # state -------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    def _enable(self) -> None:
        ready = bool(self.pictures) and bool(self.output_dir.text().strip())
        self.start_button.setEnabled(ready and not self.running)
        self.cancel_button.setEnabled(self.running)
        fields = (self.input_dir, self.output_dir, *self.choosers, self.by_count, self.by_size, self.preset)
        for widget in (*fields, self.recursive):
            widget.setEnabled(not self.running)
        self.count.setEnabled(not self.running and self.by_count.isChecked())
        self.target_kb.setEnabled(not self.running and self.by_size.isChecked())

    def _input_changed(self) -> None:
        folder = Path(self.input_dir.text().strip())
        self.pictures = pictures_in(folder, self.recursive.isChecked()) if folder.is_dir() else []
        if folder.is_dir() and not self.output_dir.text().strip():
            self.output_dir.setText(str(folder.with_name(folder.name + "-lgi")))
        self.before = {}
        self._show(queue_rows(self.pictures, {}, {}, running=True, jobs=0))
        self.status.setText(f"{len(self.pictures)} pictures in {folder}" if folder.is_dir() else "Not a folder.")
        self._enable()

    def settings(self) -> BatchSettings:
        """What Start runs: the folders and the choices made here, the rest of the main window's settings."""
        count = self.count.value() if self.by_count.isChecked() else self.fit.count
        fit = dataclasses.replace(self.fit, count=count, preset=self.preset.currentText())
        target = self.target_kb.value() if self.by_size.isChecked() else None
        return BatchSettings(
            Path(self.input_dir.text().strip()), Path(self.output_dir.text().strip()), fit, target,
            self.recursive.isChecked(),
        )  # fmt: skip

    # the batch ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Run ``lgi batch`` on the folder; pictures finished before (same settings) are skipped by it."""
        settings = self.settings()
        program, *args = batch_command(settings)
        self.before = read_report(settings.output_dir)
        self.output_text = ""
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.start(program, args)
        self.poll.start()
        self.status.setText(f"Encoding {len(self.pictures)} pictures into {settings.output_dir}…")
        self.refresh()
        self._enable()

    def cancel(self) -> None:
        """Stop the batch (SIGTERM: ``lgi`` ends its workers and keeps every finished file)."""
        if self.running:
            self.status.setText("Cancelling… finished pictures are kept.")
            self.process.terminate()
            QTimer.singleShot(KILL_AFTER_MS, self._kill_if_running)

    def _kill_if_running(self) -> None:
        if self.running:
            self.process.kill()

    def _read_output(self) -> None:
        self.output_text += bytes(self.process.readAllStandardOutput()).decode(errors="replace")

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self.poll.stop()
        self._read_output()
        self.refresh()
        lines = [line for line in self.output_text.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        if code in (0, 1):
            self.status.setText((last or summary(self.rows)) + ". Double-click a picture to open it.")
        elif self.rows and any(row.status == "cancelled" for row in self.rows):
            self.status.setText(f"Cancelled: {summary(self.rows)}; Start goes on from there.")
        else:
            self.status.setText(last or f"lgi batch ended with exit code {code}")
        self._enable()
        self.batch_finished.emit(code)

    def refresh(self) -> None:
        """Read the report again and show every picture's state."""
        report = read_report(Path(self.output_dir.text().strip()))
        jobs = workers_and_threads(None, len(self.pictures))[0]  # how many pictures lgi batch runs at once
        self._show(queue_rows(self.pictures, report, self.before, self.running, jobs))

    def _show(self, rows: list[QueueRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        folder = Path(self.input_dir.text().strip())
        for r, row in enumerate(rows):
            name = str(row.picture.relative_to(folder.resolve())) if folder.is_dir() else row.picture.name
            texts = (name, row.status, _cell(row.kb, 1), _cell(row.bpp, 3), _cell(row.psnr, 2), _cell(row.seconds, 1))
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(row.reason or str(row.output or row.picture))
                if c:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter if c > 1 else Qt.AlignCenter)
                self.table.setItem(r, c, item)
        done = sum(row.status in ("ok", "skipped", "failed") for row in rows)
        self.progress.setRange(0, max(len(rows), 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {len(rows)}")

    def open_row(self, r: int, _column: int = 0) -> None:
        """Open a finished picture's ``.lgi`` in the main window."""
        if 0 <= r < len(self.rows) and self.rows[r].openable:
            self.open_result(self.rows[r].output)

    # drops and closing -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.running and any(Path(url.toLocalFile()).is_dir() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        folders = [Path(url.toLocalFile()) for url in event.mimeData().urls() if Path(url.toLocalFile()).is_dir()]
        if folders:
            self.input_dir.setText(str(folders[0]))
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing the window cancels a running batch (its finished files stay) and waits for it to end."""
        if self.running:
            self.process.terminate()
            if not self.process.waitForFinished(KILL_AFTER_MS):
                self.process.kill()
                self.process.waitForFinished(2000)
        super().closeEvent(event)
