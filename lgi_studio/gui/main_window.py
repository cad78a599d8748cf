"""LGI Studio's main window: settings, live original/reconstruction views, PSNR and loss plots with the QA
switch marked, the codebook slider, export. Every computation happens in the engine process."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGraphicsPathItem,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lgi_studio.core.scheme_names import SCHEMES, SIZED_CODEBOOK
from lgi_studio.engine.events import Event
from lgi_studio.engine.process import CODEBOOK_STOPS

from .compare import ERROR_GAIN, error_heatmap, overlay_paths, split_composite
from .worker import Engine

RECENT_FILES = 10
ZOOM_RENDER_FROM = 1.25
"""Screen pixels per picture pixel from which the zoomed part is re-rendered from the Gaussians."""
ZOOM_RENDER_MAX_PX = 4096
IMAGE_FILTER = "Pictures and .lgi files (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.lgi);;All files (*)"


class ImagePair(QWidget):
    """Original and reconstruction side by side, equally wide, with zoom and pan linked; or one view split
    between them, or the error heatmap; the Gaussians' ellipses and a crisp zoomed render on top."""

    MODES: ClassVar[dict[str, str]] = {"side": "Side by side", "split": "Split", "error": "Error heatmap"}

    def __init__(self) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.canvases, self.views, self.items, self.labels = [], [], [], []
        for title in ("Original", "Reconstruction"):
            canvas = pg.GraphicsLayoutWidget()
            view = canvas.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            self.labels.append(canvas.addLabel(title, row=1, col=0))
            layout.addWidget(canvas, 1)
            self.canvases.append(canvas)
            self.views.append(view)
            self.items.append(item)
        self.views[1].setXLink(self.views[0])
        self.views[1].setYLink(self.views[0])
        self.zoom_item = pg.ImageItem(axisOrder="row-major")
        self.zoom_item.setZValue(1)
        self.views[1].addItem(self.zoom_item)
        self.overlay: list[QGraphicsPathItem] = []
        self.original: np.ndarray | None = None
        self.reconstruction: np.ndarray | None = None
        self.mode = "side"
        self.split = 0.5

    def show_original(self, image: np.ndarray | None) -> None:
        self.original = image
        self.reconstruction = None
        self.items[1].clear()
        self.zoom_item.hide()
        self.set_overlay([])
        if image is None:
            self.items[0].clear()
        else:
            self.items[0].setImage(image, levels=(0, 255))
            self.views[0].autoRange()

    def show_reconstruction(self, frame: np.ndarray) -> None:
        self.reconstruction = frame
        self.zoom_item.hide()
        self._refresh()

    def set_mode(self, mode: str) -> None:
        resized = (mode == "split") != (self.mode == "split")
        self.mode = mode
        self.canvases[0].setVisible(mode != "split")
        self._refresh()
        if resized:  # one view now takes the width of two (or gives it back): fit the picture again
            QTimer.singleShot(0, self.views[1].autoRange)

    def set_split(self, fraction: float) -> None:
        self.split = fraction
        if self.mode == "split":
            self._refresh()

    def comparable(self) -> bool:
        return (
            self.original is not None
            and self.reconstruction is not None
            and self.original.shape == self.reconstruction.shape
        )

    def _refresh(self) -> None:
        if self.reconstruction is None:
            return
        shown, title = self.reconstruction, "Reconstruction"
        if self.mode == "split" and self.comparable():
            shown, title = split_composite(self.original, self.reconstruction, self.split), "Original | reconstruction"
        elif self.mode == "error" and self.comparable():
            shown, title = error_heatmap(self.original, self.reconstruction), f"|error| x{ERROR_GAIN:g} (black: exact)"
        self.items[1].setImage(shown, levels=(0, 255))
        self.labels[1].setText(title)

    def show_zoom(self, frame: np.ndarray, rect: QRectF) -> None:
        """A render of part of the picture at screen resolution, laid over that part."""
        self.zoom_item.setImage(frame, levels=(0, 255))
        self.zoom_item.setRect(rect)
        self.zoom_item.show()

    def set_overlay(self, paths: list) -> None:
        for item in self.overlay:
            self.views[1].removeItem(item)
        self.overlay = []
        for colour, path in paths:
            item = QGraphicsPathItem(path)
            pen = QPen(colour)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(2)
            self.views[1].addItem(item)
            self.overlay.append(item)


class Plots(pg.GraphicsLayoutWidget):
    """PSNR and loss against iteration, with a marker where quantization-aware training starts."""

    def __init__(self) -> None:
        super().__init__()
        self.psnr_plot = self.addPlot(row=0, col=0, title="PSNR (dB)")
        self.loss_plot = self.addPlot(row=0, col=1, title="loss (MSE)")
        self.loss_plot.setLogMode(y=True)
        self.psnr_curve = self.psnr_plot.plot(pen=pg.mkPen("#3d8bfd", width=2))
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#e8590c", width=2))
        self.markers: list = []
        self.reset()

    def reset(self) -> None:
        self.iterations: list[int] = []
        self.psnr: list[float] = []
        self.loss: list[float] = []
        self.psnr_curve.setData([], [])
        self.loss_curve.setData([], [])
        for plot, marker in self.markers:
            plot.removeItem(marker)
        self.markers = []
        self.qa_marked = False

    def add(self, iteration: int, psnr: float, loss: float) -> None:
        self.iterations.append(iteration)
        self.psnr.append(psnr)
        self.loss.append(max(loss, 1e-12))

    def redraw(self) -> None:
        self.psnr_curve.setData(self.iterations, self.psnr)
        self.loss_curve.setData(self.iterations, self.loss)

    def mark_qa(self, iteration: int) -> None:
        """A dashed line labelled "QA" at the switch, on both plots."""
        if self.qa_marked:
            return
        self.qa_marked = True
        for plot in (self.psnr_plot, self.loss_plot):
            line = pg.InfiniteLine(
                iteration,
                angle=90,
                pen=pg.mkPen("#2f9e44", width=2, style=Qt.DashLine),
                label="QA",
                labelOpts={"position": 0.9, "color": "#2f9e44"},
            )
            plot.addItem(line)
            self.markers.append((plot, line))


class MainWindow(QMainWindow):
    """The application window; it talks to the engine only through commands and events."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("LGI Studio")
        self.settings = settings or QSettings("LGI Studio", "LGI Studio")
        self.engine = Engine(self)
        self.engine.event.connect(self.on_event)
        self.image_path: Path | None = None
        self.state = "idle"  # idle | fitting | paused | done
        self.last_frame_time = 0.0
        self.rate = 0.0
        self.last_result: dict = {}
        self.has_gaussians = False  # a finished fit or an opened .lgi: zoom, A/B, overlay and export apply
        self.zoom_request = 0
        self._build()
        self._load_settings()
        self._set_state("idle")

    # construction --------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.pair = ImagePair()
        self.plots = Plots()
        self.plots.setMinimumHeight(180)
        viewer = QWidget()
        viewer_layout = QVBoxLayout(viewer)
        viewer_layout.setContentsMargins(0, 0, 0, 0)
        viewer_layout.addWidget(self._compare_bar())
        viewer_layout.addWidget(self.pair, 1)
        center = QSplitter(Qt.Vertical)
        center.addWidget(viewer)
        center.addWidget(self.plots)
        center.setSizes([520, 220])
        body = QSplitter(Qt.Horizontal)
        body.addWidget(self._settings_panel())
        body.addWidget(center)
        body.setSizes([260, 1000])
        self.splitters = {"body": body, "center": center}
        self.setCentralWidget(body)
        self._toolbar()
        self.status = QLabel("Open a picture to start.")
        self.statusBar().addWidget(self.status, 1)
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.slider_timer = QTimer(self, singleShot=True, interval=150)
        self.slider_timer.timeout.connect(self._requantize)
        self.zoom_timer = QTimer(self, singleShot=True, interval=150)
        self.zoom_timer.timeout.connect(self.request_zoom)
        self.pair.views[1].sigRangeChanged.connect(lambda *_: self.zoom_timer.start())

    def _compare_bar(self) -> QWidget:
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(4, 0, 4, 0)
        self.view_mode = QComboBox()
        for key, text in ImagePair.MODES.items():
            self.view_mode.addItem(text, key)
        self.view_mode.currentIndexChanged.connect(self._on_view_mode)
        self.split_slider = QSlider(Qt.Horizontal, minimum=0, maximum=1000, value=500)
        self.split_slider.valueChanged.connect(lambda v: self.pair.set_split(v / 1000))
        self.split_slider.setVisible(False)
        self.ellipses = QCheckBox("Gaussians (coloured by codebook entry)")
        self.ellipses.toggled.connect(self._on_ellipses)
        self.ab_mode = QComboBox()
        self.ab_mode.addItems(["sum", "alpha"])
        self.ab_mode.setToolTip("Render the same Gaussians by accumulated summation or alpha compositing")
        self.ab_mode.currentTextChanged.connect(self._on_ab_mode)
        row.addWidget(QLabel("View"))
        row.addWidget(self.view_mode)
        row.addWidget(self.split_slider, 1)
        row.addWidget(self.ellipses)
        row.addWidget(QLabel("Render as"))
        row.addWidget(self.ab_mode)
        row.addStretch(0)
        return bar

    def _toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("main-toolbar")
        self.actions = {}
        for key, text, shortcut, slot in (
            ("open", "Open…", QKeySequence.Open, self.choose_image),
            ("start", "Start", "Ctrl+R", self.start_fit),
            ("pause", "Pause", "Space", self.toggle_pause),
            ("stop", "Stop", "Ctrl+.", self.stop_fit),
            ("export", "Export .lgi…", QKeySequence.Save, self.choose_export),
            ("export_png", "Export PNG…", "Ctrl+Shift+E", self.choose_png_export),
            ("export_metrics", "Export metrics…", "Ctrl+Shift+M", self.choose_metrics_export),
        ):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            bar.addAction(action)
            self.actions[key] = action
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.actions["open"])
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        for key in ("export", "export_png", "export_metrics"):
            menu.addAction(self.actions[key])
        menu.addSeparator()
        menu.addAction("&Quit", QKeySequence.Quit, self.close)
        run = self.menuBar().addMenu("&Fit")
        for key in ("start", "pause", "stop"):
            run.addAction(self.actions[key])

    def recent_files(self) -> list[str]:
        return [str(p) for p in self.settings.value("recent", [], type=list)]

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent", recent[:RECENT_FILES])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_image(p)).setToolTip(path)
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def _settings_panel(self) -> QWidget:
        panel = QWidget()
        form = QFormLayout()
        self.count = QSpinBox(minimum=16, maximum=200_000, singleStep=500, value=5000)
        self.adaptive = QCheckBox("choose from the picture")
        self.preset = QComboBox()
        self.preset.addItems(["fast", "balanced", "high", "ultra"])
        self.mode = QComboBox()
        self.mode.addItems(["sum", "alpha"])
        self.qa = QCheckBox("quantization-aware")
        self.qa_start = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.7)
        self.scheme = QComboBox()
        self.scheme.addItems(list(SCHEMES))
        self.codebook = QComboBox()
        self.codebook.addItems(["auto"] + [str(s) for s in CODEBOOK_STOPS])
        self.scheme.currentTextChanged.connect(lambda name: self.codebook.setEnabled(name in SIZED_CODEBOOK))
        self.codebook.setEnabled(self.scheme.currentText() in SIZED_CODEBOOK)
        self.backend = QComboBox()
        self.backend.addItems(["auto", "cpu", "cuda", "vulkan", "metal"])
        self.backend.setToolTip("Where the engine computes; it picks one backend per run of the app")
        self.backend_label = QLabel("not started")
        self.backend_label.setWordWrap(True)
        for label, widget in (
            ("Gaussians", self.count),
            ("", self.adaptive),
            ("Preset", self.preset),
            ("Render mode", self.mode),
            ("Training", self.qa),
            ("QA starts at", self.qa_start),
            ("Scheme", self.scheme),
            ("Codebook", self.codebook),
            ("Backend", self.backend),
            ("In use", self.backend_label),
        ):
            form.addRow(label, widget)
        self.slider = QSlider(Qt.Horizontal, minimum=0, maximum=len(CODEBOOK_STOPS) - 1, value=4)
        self.slider.valueChanged.connect(lambda _: self.slider_timer.start())
        self.slider_label = QLabel("Codebook: finish a fit to explore sizes")
        self.slider_label.setWordWrap(True)
        layout = QVBoxLayout(panel)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Codebook size</b> (re-quantize the result)"))
        row = QHBoxLayout()
        row.addWidget(self.slider)
        layout.addLayout(row)
        layout.addWidget(self.slider_label)
        layout.addStretch(1)
        return panel

    # settings ------------------------------------------------------------------------------------------
    def _remembered(self) -> dict[str, QWidget]:
        """Settings whose values outlive the app, by QSettings key."""
        return {
            "count": self.count,
            "adaptive": self.adaptive,
            "preset": self.preset,
            "mode": self.mode,
            "qa": self.qa,
            "qa_start": self.qa_start,
            "scheme": self.scheme,
            "codebook": self.codebook,
            "backend": self.backend,
            "view": self.view_mode,
        }

    def _load_settings(self) -> None:
        s = self.settings
        self.qa.setChecked(True)  # first run: show quantization-aware training and its switch
        for key, widget in self._remembered().items():
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
        for key, restore in (("geometry", self.restoreGeometry), ("window", self.restoreState)):
            if s.value(key) is not None:
                restore(s.value(key))
        for name, splitter in self.splitters.items():
            if s.value(f"splitter/{name}") is not None:
                splitter.restoreState(s.value(f"splitter/{name}"))

    def _save_settings(self) -> None:
        s = self.settings
        for key, widget in self._remembered().items():
            if isinstance(widget, QCheckBox):
                s.setValue(key, widget.isChecked())
            elif isinstance(widget, QComboBox):
                s.setValue(key, widget.currentText())
            else:
                s.setValue(key, widget.value())
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window", self.saveState())
        for name, splitter in self.splitters.items():
            s.setValue(f"splitter/{name}", splitter.saveState())

    def fit_config(self) -> dict:
        codebook = self.codebook.currentText()
        return {
            "count": None if self.adaptive.isChecked() else self.count.value(),
            "preset": self.preset.currentText(),
            "mode": self.mode.currentText(),
            "qa_training": self.qa.isChecked(),
            "qa_start": self.qa_start.value(),
            "scheme": self.scheme.currentText(),
            "codebook_size": None if codebook == "auto" else int(codebook),
        }

    # actions -------------------------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open picture", str(self.settings.value("folder", "")), IMAGE_FILTER
        )
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> bool:
        """Show a picture (read here with Pillow: no kernels involved) and make it the one to fit; a .lgi file
        is decoded and rendered by the engine instead."""
        from lgi_studio.io.errors import ImageReadError
        from lgi_studio.io.images import load_image, to_uint8

        if Path(path).suffix.lower() == ".lgi":
            self._remember(Path(path).resolve())
            self.image_path = None
            self.pair.show_original(None)
            self.plots.reset()
            self._set_state("idle")
            self.engine.send("open_lgi", {"path": str(path)})
            self.status.setText(f"Decoding {Path(path).name}…")
            return True
        try:
            image = load_image(path)
        except ImageReadError as exc:
            self.show_error(str(exc))
            return False
        self.image_path = Path(path)
        self._remember(self.image_path.resolve())
        self.has_gaussians = False
        self.settings.setValue("folder", str(self.image_path.parent))
        self.pair.show_original(to_uint8(image))
        self.plots.reset()
        self.setWindowTitle(f"LGI Studio — {self.image_path.name}")
        self.status.setText(f"{self.image_path.name}: {image.shape[1]}x{image.shape[0]}. Press Start.")
        self._set_state("idle")
        return True

    def start_fit(self) -> None:
        if self.image_path is None or self.state in ("fitting", "paused"):
            return
        self.plots.reset()
        self.last_result = {}
        self.has_gaussians = False
        self.ellipses.setChecked(False)
        self.ab_mode.setCurrentText(self.mode.currentText())
        self.fit_started = time.perf_counter()
        backend = None if self.backend.currentText() == "auto" else self.backend.currentText()
        self.engine.send("fit", {"image": str(self.image_path), "config": self.fit_config(), "backend": backend})
        self._set_state("fitting")
        self.status.setText("Starting the engine…")

    def toggle_pause(self) -> None:
        if self.state == "fitting":
            self.engine.send("pause")
        elif self.state == "paused":
            self.engine.send("resume")

    def stop_fit(self) -> None:
        if self.state in ("fitting", "paused"):
            self.engine.send("stop")

    def choose_export(self) -> None:
        if self.state != "done":
            return
        default = str(self.image_path.with_suffix(".lgi")) if self.image_path else "picture.lgi"
        path, _ = QFileDialog.getSaveFileName(self, "Export .lgi", default, "LGI files (*.lgi)")
        if path:
            self.export_lgi(path)

    def export_lgi(self, path: str | Path) -> None:
        self.engine.send("export", {"path": str(path)})

    def choose_png_export(self) -> None:
        if not self.has_gaussians:
            return
        default = str(self.image_path.with_name(self.image_path.stem + "-lgi.png")) if self.image_path else "render.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", default, "PNG pictures (*.png)")
        if not path:
            return
        scale, ok = QInputDialog.getDouble(self, "Export PNG", "Size (times the original):", 1.0, 0.1, 16.0, 2)
        if ok:
            self.export_png(path, scale)

    def export_png(self, path: str | Path, scale: float = 1.0) -> None:
        """Render the shown Gaussians at ``scale`` times their size (in the engine) and save them."""
        self.engine.send("export_png", {"path": str(path), "scale": scale})

    def choose_metrics_export(self) -> None:
        if not self.plots.iterations:
            return
        default = str(self.image_path.with_suffix(".metrics.csv")) if self.image_path else "metrics.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", default, "CSV (*.csv);;JSON (*.json)")
        if path:
            self.export_metrics(path)

    def export_metrics(self, path: str | Path) -> bool:
        """The fit's PSNR and loss per reported iteration (.csv), or with a summary (.json)."""
        from lgi_studio.io.errors import OutputWriteError
        from lgi_studio.io.metrics_files import write_metrics

        history = {"iteration": self.plots.iterations, "psnr": self.plots.psnr, "loss": self.plots.loss}
        summary = {k: v for k, v in self.last_result.items() if isinstance(v, int | float | str)}
        summary["image"] = str(self.image_path) if self.image_path else None
        summary["config"] = self.fit_config()
        try:
            write_metrics(path, history, summary)
        except (OSError, OutputWriteError) as exc:
            self.show_error(f"Could not write {path}: {exc}")
            return False
        self.status.setText(f"Saved metrics to {path}.")
        return True

    def request_zoom(self) -> None:
        """When zoomed in, ask the engine for a render of the visible part at screen resolution."""
        frame = self.pair.reconstruction
        if not self.has_gaussians or frame is None or self.pair.mode != "side":
            return
        view = self.pair.views[1]
        (vx0, vx1), (vy0, vy1) = view.viewRange()
        height, width = frame.shape[:2]
        x0, x1, y0, y1 = max(vx0, 0.0), min(vx1, width), max(vy0, 0.0), min(vy1, height)
        zoom = view.width() * self.devicePixelRatioF() / max(vx1 - vx0, 1e-9)
        if zoom < ZOOM_RENDER_FROM or x1 - x0 < 1 or y1 - y0 < 1:
            self.pair.zoom_item.hide()
            return
        zoom = min(zoom, ZOOM_RENDER_MAX_PX / max(x1 - x0, y1 - y0))
        self.zoom_request += 1
        request = {
            "viewport": [x0 / width, y0 / height, x1 / width, y1 / height],
            "size": [max(1, round((x1 - x0) * zoom)), max(1, round((y1 - y0) * zoom))],
            "mode": self.ab_mode.currentText(),
            "tag": f"zoom{self.zoom_request}",
        }
        self.engine.send("render", request)

    def _on_view_mode(self) -> None:
        mode = self.view_mode.currentData()
        self.split_slider.setVisible(mode == "split")
        self.pair.set_mode(mode)
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
        if self.state == "done":
            self.engine.send("requantize", {"size": CODEBOOK_STOPS[self.slider.value()]})
            self.slider_label.setText(f"Codebook {CODEBOOK_STOPS[self.slider.value()]}: re-quantizing…")

    # engine events -------------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Every engine event has a handler ``_on_<kind>``: a missing one raises here, it is never dropped."""
        getattr(self, f"_on_{event.kind}")(event.payload())

    def _on_started(self, p: dict) -> None:
        self.backend_label.setText(f"{p['backend']}: {p['backend_reason']}")

    def _on_progress(self, p: dict) -> None:
        self.plots.add(p["iteration"], p["psnr"], p["loss"])
        if p.get("qa_start") is not None:
            self.plots.mark_qa(p["qa_start"])
        if "frame" in p:
            self.pair.show_reconstruction(p["frame"])
            self.plots.redraw()
            elapsed = p["elapsed"]
            rate = p["iteration"] / elapsed if elapsed > 0 else 0.0
            remaining = (p["total"] - p["iteration"]) / rate if rate > 0 else math.inf
            self.status.setText(
                f"iteration {p['iteration']}/{p['total']} ({p['phase']}), {rate:.1f} it/s, N={p['count']}, "
                f"PSNR {p['psnr']:.2f} dB, ~{p['bpp']:.3f} bpp, {elapsed:.0f} s elapsed, ~{remaining:.0f} s left"
            )

    def _on_rendered(self, p: dict) -> None:
        if p["tag"] == "ab":
            self.pair.show_reconstruction(p["frame"])
            self.status.setText(
                f"Rendered by {p['mode']} ({'alpha compositing' if p['mode'] == 'alpha' else 'summation'})."
            )
            self.request_zoom()
        elif p["tag"] == f"zoom{self.zoom_request}" and self.pair.reconstruction is not None:
            height, width = self.pair.reconstruction.shape[:2]
            x0, y0, x1, y1 = p["viewport"]
            self.pair.show_zoom(p["frame"], QRectF(x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height))
        self.last_result.setdefault("rendered", []).append(p["tag"])

    def _on_overlay(self, p: dict) -> None:
        if self.ellipses.isChecked():
            self.pair.set_overlay(overlay_paths(p["means"], p["cov"], p["index"]))
            self.last_result["overlay"] = len(p["means"])

    def _on_png_exported(self, p: dict) -> None:
        self.status.setText(f"Saved {p['path']} ({p['width']}x{p['height']}).")
        self.last_result["png_exported"] = p

    def _on_paused(self, _: dict) -> None:
        self._set_state("paused")

    def _on_resumed(self, _: dict) -> None:
        self._set_state("fitting")

    def _on_stopped(self, _: dict) -> None:
        self._set_state("idle")
        self.status.setText("Stopped.")

    def _on_finished(self, p: dict) -> None:
        self.plots.redraw()
        self.last_result = p
        self.has_gaussians = True
        self._set_state("done")
        self.status.setText(f"Done: {p['count']} Gaussians, PSNR {p['psnr']:.2f} dB in {p['seconds']:.0f} s.")
        self.slider_label.setText("Move the slider to re-quantize at another codebook size.")

    def _on_requantized(self, p: dict) -> None:
        self.pair.show_reconstruction(p["frame"])
        self.slider_label.setText(
            f"Codebook {p['size']} ({p['scheme']}): PSNR {p['psnr']:.2f} dB ({p['loss']:+.2f} dB vs unquantized), "
            f"{p['bytes']} bytes, {p['bpp']:.3f} bpp"
        )
        self.last_result["requantized"] = p
        self._refresh_views()

    def _refresh_views(self) -> None:
        """After the shown Gaussians changed: redo the overlay and the zoomed render."""
        if self.ellipses.isChecked():
            self.engine.send("overlay")
        self.request_zoom()

    def _on_lgi_opened(self, p: dict) -> None:
        self.pair.show_reconstruction(p["frame"])
        self.pair.views[0].autoRange()
        self.has_gaussians = True
        self._set_state(self.state)
        self._refresh_views()
        self.setWindowTitle(f"LGI Studio — {Path(p['path']).name}")
        self.status.setText(
            f"{Path(p['path']).name}: {p['count']} Gaussians, scheme {p['scheme']}, {p['bytes']} bytes "
            f"({p['bpp']:.3f} bpp)"
        )
        self.last_result["lgi_opened"] = p

    def _on_refused(self, p: dict) -> None:
        self.status.setText(f"Not now ({p['reason']}): {p['command']}.")

    def _on_warmed(self, p: dict) -> None:
        self.last_result["warmed"] = p["sizes"]

    def _on_exported(self, p: dict) -> None:
        self.status.setText(f"Saved {p['path']}: {p['bytes']} bytes ({p['bpp']:.3f} bpp).")
        self.last_result["exported"] = p

    def _on_error(self, p: dict) -> None:
        if self.state in ("fitting", "paused"):
            self._set_state("idle")
        self.show_error(p["message"])

    def show_error(self, message: str) -> None:
        self.status.setText(f"Error: {message}")
        box = QMessageBox(QMessageBox.Warning, "LGI Studio", message, QMessageBox.Ok, self)
        box.setModal(False)
        box.show()

    def _set_state(self, state: str) -> None:
        self.state = state
        busy = state in ("fitting", "paused")
        self.actions["start"].setEnabled(not busy and self.image_path is not None)
        self.actions["pause"].setEnabled(busy)
        self.actions["pause"].setText("Resume" if state == "paused" else "Pause")
        self.actions["stop"].setEnabled(busy)
        self.actions["export"].setEnabled(state == "done")
        self.actions["export_png"].setEnabled(self.has_gaussians and not busy)
        self.actions["export_metrics"].setEnabled(not busy)
        self.ab_mode.setEnabled(self.has_gaussians and not busy)
        self.ellipses.setEnabled(self.has_gaussians and not busy)
        self.actions["open"].setEnabled(not busy)
        self.slider.setEnabled(state == "done")

    # window events -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        urls = event.mimeData().urls()
        if urls and self.state not in ("fitting", "paused"):
            self.open_image(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._save_settings()
        self.engine.shutdown()
        super().closeEvent(event)
