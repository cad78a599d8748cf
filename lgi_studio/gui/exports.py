"""The window's exports: .lgi (the folder checked first, "Writing…" at once), PNG at any size, metrics."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from . import dialogs

if TYPE_CHECKING:
    from .session import Session
    from .views import ImagePair
    from .worker import Engine


class ExportActions:
    """Mixed into the main window, whose session, engine, views and status these use."""

    session: Session
    engine: Engine
    pair: ImagePair
    has_gaussians: bool

    def choose_export(self) -> None:
        if self.session.current is not None:
            path = self.save_path()
            if path:
                self.export_lgi(path)

    def export_lgi(self, path: str | Path) -> bool:
        """Check the folder first, say so at once, then let the engine write the measured file."""
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            self.show_error(f"Cannot save {path.name}: the folder {folder} does not exist.")
            return False
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            self.show_error(f"Cannot save {path.name}: {folder} is not writable.")
            return False
        self.status.setText(f"Writing {path.name}…")
        self.engine.send("export", {"path": str(path)})
        return True

    def choose_png_export(self) -> None:
        if not self.has_gaussians or self.pair.reconstruction is None:
            return
        picture = self.session.picture
        default = str(picture.path.with_name(picture.path.stem + "-lgi.png")) if picture else "render.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", default, "PNG pictures (*.png)")
        if not path:
            return
        height, width = self.pair.reconstruction.shape[:2]
        dialog = dialogs.PngSizeDialog(width, height, self)
        if dialog.exec():
            self.export_png(path, dialog.scale.value())

    def export_png(self, path: str | Path, scale: float = 1.0) -> None:
        """Render the shown Gaussians at ``scale`` times their size (in the engine) and save them."""
        self.status.setText(f"Rendering {Path(path).name}…")
        self.engine.send("export_png", {"path": str(path), "scale": scale})

    def choose_metrics_export(self) -> None:
        r = self.session.current
        if r is None:
            return
        default = str(r.picture.with_suffix(".metrics.csv"))
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", default, "CSV (*.csv);;JSON (*.json)")
        if path:
            self.export_metrics(path)

    def export_metrics(self, path: str | Path) -> bool:
        """The current result's PSNR and loss per iteration (.csv), or with its summary (.json)."""
        from lgi_studio.io.errors import OutputWriteError
        from lgi_studio.io.metrics_files import write_metrics

        r = self.session.current
        if r is None:
            self.show_error("No result to export metrics of: run a fit first.")
            return False
        try:
            write_metrics(path, r.history, r.summary())
        except (OSError, OutputWriteError) as exc:
            self.show_error(f"Could not write {path}: {exc}")
            return False
        self.status.setText(f"Saved metrics to {path}.")
        return True
