"""The window's dialogs: Save/Discard/Cancel over an unsaved result, the PNG size with its pixels, one
error box that is reused (errors never stack), and Help > About."""

from __future__ import annotations

import platform

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QWidget,
)

from lgi_studio import __version__

LICENCE = "MIT"


def unsaved_question(doing: str, stays_kept: bool) -> str:
    """The prompt's question: what Discard does depends on whether the compare list keeps the result (with its
    file, so File > Export Kept Result can still save it) after ``doing``."""
    if stays_kept:
        return f"Save it before {doing}? Discarding keeps it in the compare list: File > Export Kept Result saves it."
    return f"Save it before {doing}? Discarding loses it."


def ask_unsaved(parent: QWidget, doing: str, stays_kept: bool = False) -> str:
    """ "save", "discard" or "cancel": what to do with a result not yet saved before ``doing``."""
    box = QMessageBox(QMessageBox.Question, "Unsaved result", "The current result is not saved as .lgi.", parent=parent)
    box.setInformativeText(unsaved_question(doing, stays_kept))
    box.setStandardButtons(QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
    box.setDefaultButton(QMessageBox.Save)
    answer = box.exec()
    return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")


class PngSizeDialog(QDialog):
    """The PNG export's size as a multiple of the picture, with the pixels it gives."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export PNG")
        self.native = (width, height)
        self.scale = QDoubleSpinBox(minimum=0.1, maximum=16.0, singleStep=0.5, decimals=2, value=1.0)
        self.scale.setSuffix(" x")
        self.scale.setToolTip("The Gaussians are rendered at this size: no upscaling blur")
        self.pixels = QLabel()
        self.scale.valueChanged.connect(self._show_pixels)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size (times the original)", self.scale)
        form.addRow("Gives", self.pixels)
        form.addRow(buttons)
        self._show_pixels()

    def size_px(self) -> tuple[int, int]:
        scale = self.scale.value()
        return tuple(max(1, round(v * scale)) for v in self.native)

    def _show_pixels(self) -> None:
        width, height = self.size_px()
        self.pixels.setText(f"{width}x{height} px (original {self.native[0]}x{self.native[1]} px)")


class ErrorBox:
    """One non-modal warning, reused: a second error replaces the first instead of hiding behind it."""

    def __init__(self, parent: QWidget) -> None:
        self.box = QMessageBox(QMessageBox.Warning, "LGI Studio", "", QMessageBox.Ok, parent)
        self.box.setModal(False)

    def show(self, message: str) -> None:
        self.box.setText(message)
        self.box.show()
        self.box.raise_()


def about_text(backend: tuple[str, str] | None) -> str:
    """Help > About: version, compute backend, licence."""
    import PySide6

    engine = f"{backend[0]} ({backend[1]})" if backend else "not started yet (it starts with the first fit)"
    return (
        f"<b>LGI Studio {__version__}</b><br>Pictures as a few thousand coloured 2D Gaussians, saved as small "
        f".lgi files.<br><br>Compute backend: {engine}<br>Python {platform.python_version()}, "
        f"Qt for Python {PySide6.__version__}<br><br>Licence: {LICENCE}"
    )
