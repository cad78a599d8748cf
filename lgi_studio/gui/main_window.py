"""LGI Studio's main window: menus, toolbar, the settings panel, the views and plots, dialogs and remembered
settings. The state lives in the session (``session.py``); the engine's events arrive in ``wiring.py``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lgi_studio.engine.process import CODEBOOK_STOPS

from . import dialogs
from .compare_bar import CompareBar
from .exports import ExportActions
from .menus import build_actions, build_menus
from .readout import Picture, size_readout
from .remembered import Remembered
from .session import Session
from .settings_panel import SettingsPanel
from .views import ImagePair, Plots
from .wiring import SessionWiring
from .worker import Engine

__all__ = ["CODEBOOK_STOPS", "MainWindow"]

MEASURE_AFTER_MS = 700
"""The slider rests this long before the engine measures the file (a measure delays the next move)."""
IMAGE_FILTER = "Pictures and .lgi files (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.lgi);;All files (*)"
DEFAULT_SIZE = (1280, 820)
FRAME_PX = 40
"""Room left for the window manager's title bar and borders."""
PANEL_WIDGETS = ("count", "adaptive", "preset", "mode", "qa", "qa_start", "scheme", "codebook", "backend")


class MainWindow(QMainWindow, ExportActions):
    """The application window; it talks to the engine only through commands and events."""

    png_sized = Signal(object, int)  # (path, bytes) from the thread that encodes the picture as PNG

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.remembered = Remembered(settings or QSettings("LGI Studio", "LGI Studio"))
        self.session = Session()
        self.engine = Engine(self)
        self.has_gaussians = False  # a finished fit or an opened .lgi: zoom, A/B, overlay and PNG export apply
        self._after_save: Callable[[], object] | None = None
        self._doing = ("", False)  # what the unsaved prompt asks before, and whether the result stays kept
        self.wiring = SessionWiring(self)
        self.engine.event.connect(self.wiring.on_event)
        self._build()
        for name in (*PANEL_WIDGETS, "backend_label", "slider", "slider_label", "restore_button"):
            setattr(self, name, getattr(self.panel, name))  # the panel's widgets, as window.count etc.
        self.errors = dialogs.ErrorBox(self)
        self.session.changed.connect(self._on_changed)
        self.session.status.connect(self.status.setText)
        self.png_sized.connect(self.session.png_measured)
        self._load_settings()
        self._on_changed("state")

    def _default_size(self) -> None:
        """1280x820 where the screen has room; on a smaller one (a 1280x800 laptop) the screen's size less the
        frame, so the status line stays on the screen (remembered geometry replaces this)."""
        available = self.screen().availableGeometry()
        width, height = DEFAULT_SIZE
        self.resize(min(width, available.width() - FRAME_PX), min(height, available.height() - FRAME_PX))

    @property
    def state(self) -> str:
        return self.session.state

    @property
    def last_result(self) -> dict[str, dict]:
        return self.wiring.last_event

    # construction --------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.panel = SettingsPanel(self.session)
        self.pair = ImagePair()
        self.plots = Plots()
        self.plots.setMinimumHeight(180)
        viewer = QWidget()
        column = QVBoxLayout(viewer)
        column.setContentsMargins(0, 0, 0, 0)
        self.readout = QLabel()
        self.readout.setToolTip("The original file against the .lgi that Export .lgi writes now (KB = 1000 bytes)")
        self.readout.setStyleSheet("font-weight: bold; padding: 2px 6px;")
        column.addWidget(self.readout)
        column.addWidget(self._compare_bar())
        column.addWidget(self.pair, 1)
        center = QSplitter(Qt.Vertical)
        center.addWidget(viewer)
        center.addWidget(self.plots)
        center.setSizes([520, 220])
        body = QSplitter(Qt.Horizontal)
        body.addWidget(self.panel)
        body.addWidget(center)
        body.setSizes([280, 1000])
        self.splitters = {"body": body, "center": center}
        self.setCentralWidget(body)
        self._actions()
        self.status = QLabel("Open a picture to start.")
        self.statusBar().addWidget(self.status, 1)
        self.setAcceptDrops(True)
        self._default_size()
        self.slider_timer = QTimer(self, singleShot=True, interval=150)
        self.slider_timer.timeout.connect(self._requantize)
        self.measure_timer = QTimer(self, singleShot=True, interval=MEASURE_AFTER_MS)
        self.measure_timer.timeout.connect(self._measure)
        self.panel.slider.valueChanged.connect(lambda _: self.slider_timer.start())
        self.panel.restore_button.clicked.connect(lambda: self.engine.send("restore"))
        self.zoom_timer = QTimer(self, singleShot=True, interval=150)
        self.zoom_timer.timeout.connect(self.request_zoom)
        self.pair.views[1].sigRangeChanged.connect(lambda *_: self.zoom_timer.start())

    def _compare_bar(self) -> CompareBar:
        bar = CompareBar()
        bar.view_mode.currentIndexChanged.connect(self._on_view_mode)
        for box in (bar.compare_left, bar.compare_right):
            box.currentIndexChanged.connect(self._on_compare)
        bar.ellipses.toggled.connect(self._on_ellipses)
        bar.ab_mode.currentTextChanged.connect(self._on_ab_mode)
        self.compare_bar = bar
        self.view_mode, self.ellipses, self.ab_mode = bar.view_mode, bar.ellipses, bar.ab_mode
        self.compare_left, self.compare_right = bar.compare_left, bar.compare_right
        return bar

    def _actions(self) -> None:
        slots = {
            "open": self.choose_image,
            "batch": self.show_batch,
            "start": self.start_fit,
            "pause": self.toggle_pause,
            "stop": self.stop_fit,
            "export": self.choose_export,
            "export_png": self.choose_png_export,
            "export_metrics": self.choose_metrics_export,
            "fit_view": self.pair.fit_view,
            "zoom_100": self.pair.zoom_100,
            "about": self.show_about,
        }
        self.actions = build_actions(self, slots)
        self.recent_menu, self.kept_menu = build_menus(self, self.actions)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.kept_menu.aboutToShow.connect(self.fill_kept_menu)

    # what the session says -----------------------------------------------------------------------------
    def _on_changed(self, what: str) -> None:
        s = self.session
        busy, result = s.busy(), s.current
        still = not busy and s.state != "opening"
        enable = {
            "start": still and s.picture is not None,
            "pause": busy,
            "stop": busy,
            "export": (result is not None or self._shown_file() is not None) and still,
            "export_png": self.has_gaussians and still,
            "export_metrics": result is not None and still,
            "open": still,
        }
        for key, on in enable.items():
            self.actions[key].setEnabled(on)
        self.kept_menu.setEnabled(still and any(r.data is not None for r in s.kept))
        self.actions["pause"].setText("Resume" if s.state == "paused" else "Pause")
        self.ab_mode.setEnabled(self.has_gaussians and not busy)
        self.ellipses.setEnabled(self.has_gaussians and not busy)
        self.setWindowTitle(s.title())
        self.readout.setText(s.lgi_summary or size_readout(s.picture, result, busy))
        if what == "kept":
            self._fill_compare()
        elif what == "result":
            self._on_compare()

    def _fill_compare(self) -> None:
        self.compare_bar.fill(self.session.kept, self.session.compare)
        self._on_compare()

    def _on_compare(self) -> None:
        self.session.set_compare(*self.compare_bar.chosen())
        self.pair.set_sides(*self.session.compare_frames(), self.session.compare_caption())

    # settings ------------------------------------------------------------------------------------------
    def _remembered(self) -> dict[str, QWidget]:
        """Settings whose values outlive the app, by QSettings key."""
        return {key: getattr(self.panel, key) for key in PANEL_WIDGETS} | {"view": self.view_mode}

    def _load_settings(self) -> None:
        self.remembered.load(self._remembered(), self, self.splitters)

    def _save_settings(self) -> None:
        self.remembered.save(self._remembered(), self, self.splitters)

    def recent_files(self) -> list[str]:
        return self.remembered.recent_files()

    def _fill_recent(self) -> None:
        self.remembered.fill_menu(self.recent_menu, self.open_image)

    # an unsaved result ---------------------------------------------------------------------------------
    def ask_unsaved(self) -> str:
        return dialogs.ask_unsaved(self, *self._doing)

    def save_path(self) -> str:
        picture = self.session.picture
        default = str(picture.path.with_suffix(".lgi")) if picture else "picture.lgi"
        path, _ = QFileDialog.getSaveFileName(self, "Export .lgi", default, "LGI files (*.lgi)")
        return path

    def _may_drop_result(self, doing: str, then: Callable[[], object], stays_kept: bool = False) -> bool:
        """True when nothing unsaved is lost; else ask. Save runs ``then`` once the file is written.
        ``stays_kept``: the compare list keeps the result afterwards (a new fit of the same picture)."""
        if not self.session.unsaved():
            return True
        self._doing = (doing, stays_kept and self.session.current.data is not None)
        answer = self.ask_unsaved()
        if answer == "discard":
            return True
        if answer == "save":
            path = self.save_path()
            if path and self.export_lgi(path):
                self._after_save = then
        return False

    def after_save(self, saved: bool = True) -> None:
        """The export asked for by Save ended: go on with what was asked, or (it failed) do nothing."""
        then, self._after_save = self._after_save, None
        if then is not None and saved:
            then()

    # actions -------------------------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", self.remembered.folder(), IMAGE_FILTER)
        if path:
            self.open_image(path)

    def show_batch(self) -> None:
        """The Batch window (one, kept while the main window lives), starting from the panel's settings."""
        from .batch_window import BatchWindow

        if getattr(self, "batch_window", None) is None:
            self.batch_window = BatchWindow(self.session.settings, self.open_image, self)
        self.batch_window.show()
        self.batch_window.raise_()

    def open_image(self, path: str | Path) -> bool:
        """Show a picture (read here with Pillow: no kernels involved) and make it the one to fit; a .lgi file
        is decoded and rendered by the engine instead."""
        from lgi_studio.io.errors import ImageReadError

        path = Path(path)
        if self.session.busy() or not self._may_drop_result(f"opening {path.name}", lambda: self.open_image(path)):
            return False
        if path.suffix.lower() == ".lgi":
            self.remembered.remember(path)
            self.session.open_lgi(path)
            self.engine.send("open_lgi", {"path": str(path)})
            return True
        try:
            picture = Picture.load(path)
        except (ImageReadError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.remembered.remember(path)
        self.has_gaussians = False
        self.pair.show_original(picture.pixels)
        self.plots.reset()
        self.session.open_picture(picture)
        if picture.png_bytes is None:
            threading.Thread(target=self._measure_png, args=(picture,), daemon=True).start()
        return True

    def _measure_png(self, picture: Picture) -> None:
        """In a thread: the picture's PNG size for the readout (0.3-1 s that the window does not wait for)."""
        size = picture.png_size()
        with contextlib.suppress(RuntimeError):  # the window closed meanwhile
            self.png_sized.emit(picture.path, size)

    @property
    def image_path(self) -> Path | None:
        return self.session.picture.path if self.session.picture else None

    def start_fit(self) -> None:
        s = self.session
        if s.picture is None or s.busy() or not self._may_drop_result("a new fit", self.start_fit, stays_kept=True):
            return
        self.plots.reset()
        self.has_gaussians = False
        self.ellipses.setChecked(False)
        self.ab_mode.setCurrentText(s.settings.mode)
        self.pair.canvases[1].setFocus()  # out of the count field, so Space pauses instead of typing a space
        self.engine.send("fit", s.fit_request())

    def toggle_pause(self) -> None:
        if self.session.state == "fitting":
            self.engine.send("pause")
        elif self.session.state == "paused":
            self.engine.send("resume")

    def stop_fit(self) -> None:
        if self.session.busy():
            self.engine.send("stop")

    def request_zoom(self) -> None:
        self.wiring.request_zoom()

    def _on_view_mode(self) -> None:
        self.compare_bar.show_tools()
        self.pair.set_mode(self.view_mode.currentData())
        self.request_zoom()

    def _on_ellipses(self, on: bool) -> None:
        if on and self.has_gaussians:
            self.engine.send("overlay")
        elif not on:
            self.pair.set_overlay([])

    def _on_ab_mode(self, mode: str) -> None:
        if self.has_gaussians:
            self.engine.send("render", {"mode": mode, "tag": "ab"})

    def _requantize(self) -> None:
        if self.session.state == "done" and self.session.current is not None:
            size = CODEBOOK_STOPS[self.panel.slider.value()]
            self.engine.send("requantize", {"size": size})
            self.panel.slider_label.setText(f"Codebook {size}: re-quantizing…")

    def _measure(self) -> None:
        """Once the slider rests: the bytes of the file Export would write (1-3 s of engine work)."""
        r = self.session.current
        if self.session.state == "done" and r is not None and r.file is None and not self.slider_timer.isActive():
            self.engine.send("measure")

    def show_error(self, message: str) -> None:
        self.status.setText(f"Error: {message}")
        self.errors.show(message)

    def about_text(self) -> str:
        return dialogs.about_text(self.session.backend)

    def show_about(self) -> None:
        QMessageBox.about(self, "About LGI Studio", self.about_text())

    # window events -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        urls = event.mimeData().urls()
        if urls:
            self.open_image(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self._may_drop_result("closing LGI Studio", self.close):
            event.ignore()
            return
        self._save_settings()
        if getattr(self, "batch_window", None) is not None:
            self.batch_window.close()  # a running batch is cancelled: its finished files stay
        self.engine.shutdown()
        super().closeEvent(event)
