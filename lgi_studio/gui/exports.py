"""The window's exports: .lgi (the folder checked first, "Writing…" at once), any kept result's .lgi, PNG at any
size, metrics."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMenu

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
    kept_menu: QMenu

    def choose_export(self) -> None:
        """Export .lgi: the current result, else the opened .lgi the view shows (a copy of it)."""
        if self.session.current is not None:
            path = self.save_path()
            if path:
                self.export_lgi(path)
        elif self._shown_file() is not None:
            self.choose_kept_export(self._shown_file())

    def _shown_file(self) -> str | None:
        """The key of an opened .lgi the view shows while no fit is current: Export .lgi saves a copy of it."""
        shown = self.session.shown_result()
        return shown.key if shown is not None and shown.source is not None else None

    def export_lgi(self, path: str | Path) -> bool:
        """Check the folder first, say so at once, then let the engine write the measured file."""
        path = Path(path)
        if not self._writable(path):
            return False
        self.status.setText(f"Writing {path.name}…")
        self.engine.send("export", {"path": str(path)})
        return True

    def _writable(self, path: Path) -> bool:
        """Whether ``path`` can be written; if not, the one error that says why."""
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            self.show_error(f"Cannot save {path.name}: the folder {folder} does not exist.")
            return False
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            self.show_error(f"Cannot save {path.name}: {folder} is not writable.")
            return False
        return True

    def fill_kept_menu(self) -> None:
        """File > Export Kept Result: one entry a kept result, named as in the compare lists; one whose file
        is still being measured is shown greyed."""
        self.kept_menu.clear()
        for result in self.session.kept:
            action = self.kept_menu.addAction(result.label(), lambda key=result.key: self.choose_kept_export(key))
            action.setEnabled(result.data is not None)

    def choose_kept_export(self, key: str) -> None:
        r = self.session.kept_result(key)
        if r is None:
            return
        stem = f"{r.source.stem}-copy" if r.source else f"{r.picture.stem}-fit-{r.key.replace('@', '-codebook-')}"
        default = str(r.picture.with_name(f"{stem}.lgi"))
        path, _ = QFileDialog.getSaveFileName(self, "Export kept result", default, "LGI files (*.lgi)")
        if path:
            self.export_kept(key, path)

    def export_kept(self, key: str, path: str | Path) -> bool:
        """Write a kept result's file (its exact bytes, as measured or opened) at ``path``, atomically: here,
        not in the engine, which holds only the current result (a few hundred KB at most: no wait)."""
        from lgi_studio.io.atomic import atomic_writer
        from lgi_studio.io.errors import OutputWriteError

        path, r = Path(path), self.session.kept_result(key)
        if r is None or r.data is None:
            self.show_error(f"Cannot save {path.name}: that result's file is not measured yet.")
            return False
        if not self._writable(path):
            return False
        try:
            with atomic_writer(path) as handle:
                handle.write(r.data)
        except (OSError, OutputWriteError) as exc:
            self.show_error(f"Could not write {path}: {exc}")
            return False
        self.session.kept_exported(key, path)
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
