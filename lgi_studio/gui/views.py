"""The picture views and the plots: original and reconstruction side by side (zoom and pan linked), one view
split between two pictures with a draggable divider, the error heatmap with its colour scale, and the PSNR
and loss curves with the QA switch marked."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QImage, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPathItem, QHBoxLayout, QLabel, QWidget

from .compare import ERROR_GAIN, error_heatmap, heatmap_lut, split_composite

FIT_PADDING = 0.02
ZOOM_OUT_LIMIT = 4.0
SPLIT_PEN = pg.mkPen("#ffffff", width=2)
SPLIT_HOVER_PEN = pg.mkPen("#ffd43b", width=3)


class ImagePair(QWidget):
    """Original and reconstruction side by side, equally wide, with zoom and pan linked; or one view split
    between two pictures (the original and the result, or two kept results), or the error heatmap; the
    Gaussians' ellipses and a crisp zoomed render on top."""

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
            canvas.scene().sigMouseClicked.connect(self._on_click)
            layout.addWidget(canvas, 1)
            self.canvases.append(canvas)
            self.views.append(view)
            self.items.append(item)
        self.views[1].setXLink(self.views[0])
        self.views[1].setYLink(self.views[0])
        self.fitted = True  # the picture fills the view and keeps doing so as the view resizes
        for view in self.views:
            view.sigResized.connect(self._on_resized)
            view.sigRangeChangedManually.connect(self._on_zoomed_by_hand)
        self.zoom_item = pg.ImageItem(axisOrder="row-major")
        self.zoom_item.setZValue(1)
        self.views[1].addItem(self.zoom_item)
        self.split_line = pg.InfiniteLine(angle=90, movable=True, pen=SPLIT_PEN, hoverPen=SPLIT_HOVER_PEN)
        self.split_line.setZValue(3)
        self.split_line.setToolTip("Drag to move the divider between the two pictures")
        self.split_line.sigPositionChanged.connect(self._on_split_dragged)
        self.views[1].addItem(self.split_line)
        self.overlay: list[QGraphicsPathItem] = []
        self.original: np.ndarray | None = None
        self.reconstruction: np.ndarray | None = None
        self.sides: tuple[np.ndarray | None, np.ndarray | None] = (None, None)  # split view: left | right
        self.split_caption = ""
        self.mode = "side"
        self.split = 0.5
        self._show_split_line()

    def clear(self) -> None:
        self.show_original(None)

    def show_original(self, image: np.ndarray | None) -> None:
        """A new picture (or none, for an opened .lgi): the reconstruction goes, the views fit it."""
        self.original = image
        self.reconstruction = None
        self.sides = (image, None)
        self.items[1].clear()
        self.zoom_item.hide()
        self.set_overlay([])
        if image is None:
            self.items[0].clear()
        else:
            self.items[0].setImage(image, levels=(0, 255))
        self._show_split_line()
        self.fit_later()

    def show_reconstruction(self, frame: np.ndarray, fit: bool = False) -> None:
        self.reconstruction = frame
        self.zoom_item.hide()
        self._refresh()
        if fit:
            self.fit_later()

    def set_sides(self, left: np.ndarray | None, right: np.ndarray | None, caption: str = "") -> None:
        """What the split view shows left and right of the divider, and the caption naming them."""
        self.sides = (left, right)
        self.split_caption = caption
        self._refresh()

    def set_mode(self, mode: str) -> None:
        resized = (mode == "split") != (self.mode == "split")
        self.mode = mode
        self.canvases[0].setVisible(mode != "split")
        self._show_split_line()
        self._refresh()
        if resized:  # one view now takes the width of two (or gives it back): fit the picture again
            self.fit_later()

    def set_split(self, fraction: float) -> None:
        self.split = min(max(fraction, 0.0), 1.0)
        self._show_split_line()
        if self.mode == "split":
            self._refresh()

    # zoom ----------------------------------------------------------------------------------------------
    def _content_view(self) -> pg.ViewBox | None:
        """The view whose picture decides the range (both are linked): an opened .lgi has no original."""
        if self.items[1].image is not None:
            return self.views[1]
        return self.views[0] if self.items[0].image is not None else None

    def fit_view(self) -> None:
        """The whole picture in the view (View > Fit, key 0, double-click); it stays fitted as the view
        resizes (a mode switch, the window, a splitter) until the designer zooms or pans."""
        self.fitted = True
        view = self._content_view()
        if view is not None:
            self._limit_zoom_out()
            view.autoRange(padding=FIT_PADDING)

    def _limit_zoom_out(self) -> None:
        """Zooming out stops at ``ZOOM_OUT_LIMIT`` times the picture: it never shrinks to nothing or pans
        away; the limit grows with the view's shape so a fitted picture always fits."""
        shown = self.reconstruction if self.reconstruction is not None else self.original
        if shown is None:
            return
        height, width = shown.shape[:2]
        for view in self.views:
            aspect = max(view.width(), 1.0) / max(view.height(), 1.0)
            span = ZOOM_OUT_LIMIT * max(width, height * aspect, height, width / aspect)
            view.setLimits(xMin=width / 2 - span, xMax=width / 2 + span, yMin=height / 2 - span, yMax=height / 2 + span)

    def _on_resized(self) -> None:
        if self.fitted:
            self.fit_view()

    def _on_zoomed_by_hand(self, *_: object) -> None:
        self.fitted = False

    def fit_later(self) -> None:
        """Fit now and once more after Qt has laid the views out (a first show, a mode switch)."""
        self.fit_view()
        QTimer.singleShot(0, self.fit_view)

    def zoom_100(self) -> None:
        """One picture pixel per screen pixel, about the view's centre (View > 100%, key 1)."""
        view = self._content_view()
        if view is None:
            return
        (x0, x1), (y0, y1) = view.viewRange()
        ratio = self.devicePixelRatioF()
        width, height = view.width() * ratio, view.height() * ratio
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.fitted = False
        view.setRange(xRange=(cx - width / 2, cx + width / 2), yRange=(cy - height / 2, cy + height / 2), padding=0)

    def reset_on_double_click(self) -> None:
        self.fit_view()

    def _on_click(self, event) -> None:
        if event.double():
            self.reset_on_double_click()

    # split ---------------------------------------------------------------------------------------------
    def _width(self) -> int:
        shown = self.reconstruction if self.reconstruction is not None else self.original
        return shown.shape[1] if shown is not None else 1

    def _show_split_line(self) -> None:
        self.split_line.setVisible(self.mode == "split" and self.comparable())
        self.split_line.blockSignals(True)
        self.split_line.setValue(self.split * self._width())
        self.split_line.blockSignals(False)

    def _on_split_dragged(self) -> None:
        self.split = min(max(self.split_line.value() / self._width(), 0.0), 1.0)
        if self.mode == "split":
            self._refresh()

    def comparable(self) -> bool:
        left, right = self._split_sides()
        return left is not None and right is not None and left.shape == right.shape

    def _split_sides(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        left, right = self.sides
        return (self.original if left is None else left), (self.reconstruction if right is None else right)

    def _refresh(self) -> None:
        if self.reconstruction is None:
            return
        shown, title = self.reconstruction, "Reconstruction"
        if self.mode == "split" and self.comparable():
            shown = split_composite(*self._split_sides(), self.split)
            title = self.split_caption or "Left | right of the divider"
        elif self.mode == "error" and self.original is not None and self.original.shape == self.reconstruction.shape:
            shown, title = error_heatmap(self.original, self.reconstruction), f"|error| x{ERROR_GAIN:g} (black: exact)"
        self.items[1].setImage(shown, levels=(0, 255))
        self.labels[1].setText(title)
        self.labels[1].setMinimumWidth(0)  # a long caption is clipped, never widens the view (or the window)
        self._show_split_line()

    # overlays ------------------------------------------------------------------------------------------
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


class HeatmapScale(QWidget):
    """The error heatmap's colour scale: black (exact) to white (an error of a quarter of the range)."""

    def __init__(self) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        lut = np.ascontiguousarray(np.repeat(heatmap_lut()[None, :, :], 12, axis=0))
        image = QImage(lut.data, lut.shape[1], lut.shape[0], 3 * lut.shape[1], QImage.Format_RGB888).copy()
        bar = QLabel()
        bar.setPixmap(QPixmap.fromImage(image).scaled(160, 12))
        full = round(255 / ERROR_GAIN)
        row.addWidget(QLabel("error 0"))
        row.addWidget(bar)
        row.addWidget(QLabel(f"≥{full} levels"))
        self.setToolTip(
            f"Mean absolute RGB error per pixel, times {ERROR_GAIN:g}: black is exact, the brightest colour an "
            f"error of {full} of 255 levels or more"
        )


class Plots(pg.GraphicsLayoutWidget):
    """PSNR and loss against iteration, with a marker where quantization-aware training starts."""

    def __init__(self) -> None:
        super().__init__()
        self.psnr_plot = self.addPlot(row=0, col=0, title="PSNR")
        self.loss_plot = self.addPlot(row=0, col=1, title="Loss")
        for plot, unit in ((self.psnr_plot, "PSNR (dB)"), (self.loss_plot, "loss (MSE, log scale)")):
            plot.setLabel("bottom", "iteration")
            plot.setLabel("left", unit)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.loss_plot.setLogMode(y=True)
        self.psnr_curve = self.psnr_plot.plot(pen=pg.mkPen("#3d8bfd", width=2))
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#e8590c", width=2))
        self.setToolTip("How the fit converges; the dashed green line marks where quantization-aware training began")
        self.markers: list = []
        self.reset()

    def reset(self) -> None:
        self.iterations: list[int] = []
        self.psnr: list[float] = []
        self.loss: list[float] = []
        self.psnr_curve.setData([], [])
        self.loss_curve.setData([], [])
        for plot in (self.psnr_plot, self.loss_plot):
            plot.enableAutoRange()  # no axes left over from the previous fit
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
        """A dashed line labelled "QA" at the switch, on both plots, the label where the curve is not: low
        on the PSNR plot (PSNR is high by then), high on the loss plot (the loss is low)."""
        if self.qa_marked:
            return
        self.qa_marked = True
        for plot, position in ((self.psnr_plot, 0.08), (self.loss_plot, 0.92)):
            line = pg.InfiniteLine(
                iteration,
                angle=90,
                pen=pg.mkPen("#2f9e44", width=2, style=Qt.DashLine),
                label="QA",
                labelOpts={
                    "position": position,
                    "color": "#2f9e44",
                    "fill": (20, 20, 20, 200),
                    "anchors": [(0, 0.5), (0, 0.5)],
                },
            )
            plot.addItem(line)
            self.markers.append((plot, line))
