"""Session wiring: the engine's events become session calls and view updates, in one dispatch table.

This is the only place that reads the engine's events (``on_event``); a kind it does not know is reported,
not dropped. The engine's commands are sent from here too, so the window never builds a request itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF

from .compare import overlay_paths

if TYPE_CHECKING:
    from lgi_studio.engine.events import Event

    from .main_window import MainWindow

ZOOM_RENDER_FROM = 1.25
"""Screen pixels per picture pixel from which the zoomed part is re-rendered from the Gaussians."""
ZOOM_RENDER_MAX_PX = 4096


class SessionWiring:
    """Connects the engine, the session and the window's views."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.session = window.session
        self.engine = window.engine
        self.last_event: dict[str, dict] = {}  # the latest payload of each kind (tests and --quit-after read it)
        self.zoom_request = 0
        self.handlers = {
            "started": self._started,
            "progress": self._progress,
            "paused": lambda _: self.session.paused(self._now()),
            "resumed": lambda _: self.session.resumed(self._now()),
            "stopped": lambda _: self.session.fit_ended_without_result(),
            "finished": self._finished,
            "measured": self._measured,
            "requantized": self._requantized,
            "restored": self._restored,
            "rendered": self._rendered,
            "overlay": self._overlay,
            "png_exported": self._png_exported,
            "lgi_opened": self._lgi_opened,
            "warmed": lambda _: None,
            "refused": self._refused,
            "exported": self._exported,
            "error": self._error,
        }

    def on_event(self, event: Event) -> None:
        """The one dispatch place for the engine's events (``engine.events``)."""
        kind, payload = event.kind, event.payload()
        handler = self.handlers.get(kind)
        if handler is None:
            self.w.show_error(f"The engine sent an event this window does not know: {kind!r}")
            return
        self.last_event[kind] = payload
        handler(payload)

    @staticmethod
    def _now() -> float:
        import time

        return time.perf_counter()

    # the fit -------------------------------------------------------------------------------------------
    def _started(self, p: dict) -> None:
        self.session.started(p["backend"], p["backend_reason"], p["total"])

    def _progress(self, p: dict) -> None:
        plots = self.w.plots
        plots.add(p["iteration"], p["psnr"], p["loss"])
        if p.get("qa_start") is not None:
            plots.mark_qa(p["qa_start"])
        if "frame" in p:
            self.w.pair.show_reconstruction(p["frame"])
            plots.redraw()
        self.session.progress(p)

    def _finished(self, p: dict) -> None:
        self.w.plots.redraw()
        self.w.pair.show_reconstruction(p["frame"])
        self.w.has_gaussians = True
        self.session.finished(p, p["frame"])
        self.engine.send("measure")

    # working on the result -----------------------------------------------------------------------------
    def _measured(self, p: dict) -> None:
        self.session.measured(p)

    def _requantized(self, p: dict) -> None:
        self.w.pair.show_reconstruction(p["frame"])
        self.session.requantized(p["size"], p["frame"], p["psnr"])
        self.w.measure_timer.start()
        self.refresh_views()

    def _restored(self, p: dict) -> None:
        self.w.pair.show_reconstruction(p["frame"])
        self.session.restored(p["frame"])
        self.w.measure_timer.start()
        self.refresh_views()

    def _exported(self, p: dict) -> None:
        self.session.exported(Path(p["path"]), p["bytes"], p["bpp"])
        self.w.after_save()

    def _png_exported(self, p: dict) -> None:
        self.session.status.emit(f"Saved {p['path']} ({p['width']}x{p['height']} px).")

    def _lgi_opened(self, p: dict) -> None:
        """The file joins the kept results (``Session.lgi_opened``); the original view keeps a picture of
        its size, and the plots, which belong to a fit, are cleared."""
        if not self.session.keeps_beside(p["frame"]):
            self.w.pair.show_original(None)
        self.w.plots.reset()
        self.w.has_gaussians = True
        self.w.pair.show_reconstruction(p["frame"], fit=True)
        self.session.lgi_opened(p, p["frame"])
        self.refresh_views()

    def _refused(self, p: dict) -> None:
        """A command the engine could not take now (nothing changed): say so in the status line."""
        self.session.status.emit(f"Not now ({p['reason']}): {p['command']}.")

    def _error(self, p: dict) -> None:
        self.session.fit_ended_without_result()
        if self.session.state == "opening":
            self.session.lgi_failed()
        self.w.after_save(saved=False)
        self.session.command_failed()
        self.w.show_error(p["message"])

    # views that the engine renders ---------------------------------------------------------------------
    def _rendered(self, p: dict) -> None:
        pair = self.w.pair
        if p["tag"] == "ab":
            pair.show_reconstruction(p["frame"])
            how = "alpha compositing" if p["mode"] == "alpha" else "summation"
            self.session.status.emit(f"Rendered by {p['mode']} ({how}).")
            self.request_zoom()
        elif p["tag"] == f"zoom{self.zoom_request}" and pair.reconstruction is not None:
            height, width = pair.reconstruction.shape[:2]
            x0, y0, x1, y1 = p["viewport"]
            pair.show_zoom(p["frame"], QRectF(x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height))

    def _overlay(self, p: dict) -> None:
        if self.w.ellipses.isChecked():
            self.w.pair.set_overlay(overlay_paths(p["means"], p["cov"], p["index"]))

    def refresh_views(self) -> None:
        """After the shown Gaussians changed: redo the overlay and the zoomed render."""
        if self.w.ellipses.isChecked():
            self.engine.send("overlay")
        self.request_zoom()

    def request_zoom(self) -> None:
        """When zoomed in, ask the engine for a render of the visible part at screen resolution."""
        pair = self.w.pair
        frame = pair.reconstruction
        if not self.w.has_gaussians or frame is None or pair.mode != "side":
            return
        view = pair.views[1]
        (vx0, vx1), (vy0, vy1) = view.viewRange()
        height, width = frame.shape[:2]
        x0, x1, y0, y1 = max(vx0, 0.0), min(vx1, width), max(vy0, 0.0), min(vy1, height)
        zoom = view.width() * self.w.devicePixelRatioF() / max(vx1 - vx0, 1e-9)
        if zoom < ZOOM_RENDER_FROM or x1 - x0 < 1 or y1 - y0 < 1:
            pair.zoom_item.hide()
            return
        zoom = min(zoom, ZOOM_RENDER_MAX_PX / max(x1 - x0, y1 - y0))
        self.zoom_request += 1
        request = {
            "viewport": [x0 / width, y0 / height, x1 / width, y1 / height],
            "size": [max(1, round((x1 - x0) * zoom)), max(1, round((y1 - y0) * zoom))],
            "mode": self.w.ab_mode.currentText(),
            "tag": f"zoom{self.zoom_request}",
        }
        self.engine.send("render", request)
