"""What outlives the app (QSettings): the panel's settings, the view, window geometry, toolbar and splitter
positions, the last folder and the recent files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QMainWindow, QMenu, QSplitter, QWidget

RECENT_FILES = 10


class Remembered:
    """Loads and saves widget values by key, and keeps the recent files list."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def load(self, widgets: dict[str, QWidget], window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
        s = self.settings
        for key, widget in widgets.items():
            value = s.value(key)
            if value is None:
                continue
            if isinstance(widget, QCheckBox):
                widget.setChecked(value in (True, "true"))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findText(str(value))))
            elif isinstance(widget, QDoubleSpinBox):
                widget.setValue(float(value))
            else:
                widget.setValue(int(value))
        for key, restore in (("geometry", window.restoreGeometry), ("window", window.restoreState)):
            if s.value(key) is not None:
                restore(s.value(key))
        for name, splitter in splitters.items():
            if s.value(f"splitter/{name}") is not None:
                splitter.restoreState(s.value(f"splitter/{name}"))

    def save(self, widgets: dict[str, QWidget], window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
        s = self.settings
        for key, widget in widgets.items():
            if isinstance(widget, QCheckBox):
                s.setValue(key, widget.isChecked())
            elif isinstance(widget, QComboBox):
                s.setValue(key, widget.currentText())
            else:
                s.setValue(key, widget.value())
        s.setValue("geometry", window.saveGeometry())
        s.setValue("window", window.saveState())
        for name, splitter in splitters.items():
            s.setValue(f"splitter/{name}", splitter.saveState())

    def recent_files(self) -> list[str]:
        return [str(p) for p in self.settings.value("recent", [], type=list)]

    def remember(self, path: Path) -> None:
        """``path`` first in the recent files, and its folder the next dialog's."""
        recent = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("recent", recent[:RECENT_FILES])
        self.settings.setValue("folder", str(path.parent))

    def folder(self) -> str:
        return str(self.settings.value("folder", ""))

    def fill_menu(self, menu: QMenu, open_path: Callable[[str], object]) -> None:
        menu.clear()
        for path in self.recent_files():
            menu.addAction(Path(path).name, lambda p=path: open_path(p)).setToolTip(path)
        menu.setEnabled(bool(self.recent_files()))
