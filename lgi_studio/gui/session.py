"""What the window shows, without Qt (napari's ViewerModel way): the picture, the settings, the fit under
way, the current result and the last few kept results of the picture, and the view.

Widgets write to the session and observe its signals; the engine's events arrive through the window's one
dispatch place and become calls here. Every rule a designer meets (never drop a result silently, what the
status says, what is enabled) lives here and is tested by driving a ``Session`` without a window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lgi_studio.core.scheme_names import SIZED_CODEBOOK

from .codebook_stops import codebook_name
from .progress import FitClock, fit_status
from .readout import FileSize, Picture, frame_psnr, kb
from .results import FitSettings, Result

KEEP_RESULTS = 6
"""Results of one picture kept for comparison (the newest first): each fit, and each codebook size the slider
measured on one, as it was then."""


class Signal:
    """Callbacks called in order with the emitted values (napari's EventEmitter, cut to what we need)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> Callable[..., None]:
        self._callbacks.append(callback)
        return callback

    def emit(self, *args: object) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class Session:
    """The state of one window. ``state``: idle, opening (a .lgi), fitting, paused or done (a result to
    work on)."""

    def __init__(self, settings: FitSettings | None = None) -> None:
        self.settings = settings or FitSettings()
        self.picture: Picture | None = None
        self.lgi_path: Path | None = None  # an opened .lgi the reconstruction view shows
        self.lgi_key: str | None = None  # its kept result
        self.lgi_summary = ""  # its size readout once decoded
        self.opening: Path | None = None  # a .lgi the engine is decoding
        self._state_before = "idle"  # what the session was doing before it (a failed open goes back to it)
        self.state = "idle"
        self.current: Result | None = None
        self.kept: list[Result] = []
        self.backend: tuple[str, str] | None = None  # (name, why) once the engine has started
        self.clock = FitClock()
        self.view_mode = "side"
        self.compare: tuple[str | None, str | None] = (
            None,
            None,
        )  # kept keys left | right; None: original / current
        self._numbers = 0
        self.changed = Signal()  # (what) : "picture", "settings", "state", "result", "kept", "view"
        self.status = Signal()  # (text)
        self.slider_text = Signal()  # (text) the codebook slider's readout
        self.slider_rest = Signal()  # () a fit's own result is current again: its handle position, silently

    # settings and picture ------------------------------------------------------------------------------
    def set_settings(self, **changes: object) -> None:
        self.settings = dataclasses.replace(self.settings, **changes)
        self.changed.emit("settings")

    def unsaved(self) -> bool:
        """A result the designer would lose: not saved as .lgi since it was made or last changed."""
        return self.current is not None and self.current.saved is None

    def open_picture(self, picture: Picture) -> None:
        same = self.picture is not None and self.picture.path == picture.path
        self.picture, self.current = picture, None
        self.lgi_path, self.lgi_key, self.lgi_summary, self.opening = None, None, "", None
        if not same:
            self.kept = []
            self.compare = (None, None)
        self._set_state("idle")
        self.changed.emit("picture")
        self.changed.emit("kept")
        self.slider_text.emit(self.slider_hint())
        self.status.emit(f"{picture.path.name}: {picture.width}x{picture.height}. Press Start.")

    def png_measured(self, path: Path, size: int) -> None:
        """The opened picture's size as a PNG, measured in the background (ignored if another is open)."""
        if self.picture is not None and self.picture.path == path:
            self.picture = dataclasses.replace(self.picture, png_bytes=size)
            self.changed.emit("picture")

    def open_lgi(self, path: Path) -> None:
        """The engine decodes ``path``; until it answers, what is open stays open (and stays, if it fails)."""
        self.opening, self._state_before = path, self.state
        self._set_state("opening")
        self.changed.emit("picture")
        self.status.emit(f"Decoding {path.name}…")

    def lgi_opened(self, p: dict, frame: np.ndarray) -> None:
        """The engine decoded the .lgi: it is kept like a fit's result, beside the picture and the results of
        its size (PSNR against that picture), or alone when what is open has another size."""
        path = Path(p["path"])
        if not self.keeps_beside(frame):
            self.picture, self.kept, self.compare = None, [], (None, None)
        psnr = frame_psnr(frame, self.picture.pixels) if self.picture is not None else None
        self._numbers += 1
        result = Result.opened(self._numbers, path, p, frame, psnr)
        self.current, self.opening, self.lgi_path, self.lgi_key = None, None, path, result.key
        self._keep(result)
        self.lgi_summary = (
            f"{path.name}: .lgi {kb(p['bytes'])} · {p['bpp']:.3f} bpp · {p['count']} Gaussians, scheme {p['scheme']}"
        )
        if psnr is not None:
            self.lgi_summary += f" · PSNR {psnr:.2f} dB against {self.picture.path.name}"
        self._set_state("idle")
        for what in ("result", "picture", "kept"):
            self.changed.emit(what)
        self.slider_text.emit(self.slider_hint())
        self.status.emit(self.lgi_summary)

    def keeps_beside(self, frame: np.ndarray) -> bool:
        """Whether a .lgi rendering ``frame`` joins what is open: the picture, else the kept results, of its
        size (a file of the same picture, or two files to compare)."""
        if self.picture is not None:
            return self.picture.pixels.shape == frame.shape
        return bool(self.kept) and all(r.frame is not None and r.frame.shape == frame.shape for r in self.kept)

    def lgi_failed(self) -> None:
        """A .lgi that could not be read: what was open stays, and the title names it, not the bad file."""
        self.opening = None
        self._set_state(self._state_before)
        self.changed.emit("picture")

    def title(self) -> str:
        path = self.opening or self.lgi_path or (self.picture.path if self.picture else None)
        shown = path.name if path else None
        return f"LGI Studio — {shown}" if shown else "LGI Studio"

    # the fit -------------------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.state in ("fitting", "paused")

    def fit_request(self) -> dict:
        """Start a fit of the picture with the current settings; the engine's "fit" command."""
        assert self.picture is not None
        assert not self.busy()
        if self.current is not None:
            self.current = None
            self.changed.emit("result")
        self.lgi_path, self.lgi_key, self.lgi_summary = None, None, ""  # an opened .lgi stays kept
        self.running = self.settings
        self.clock = FitClock()
        self.history: dict[str, list] = {"iteration": [], "psnr": [], "loss": []}
        self._set_state("fitting")
        self.slider_text.emit(self.slider_hint())
        first = self.backend is None
        self.status.emit("Starting the engine…" if first else "Starting the fit…")
        backend = None if self.settings.backend == "auto" else self.settings.backend
        return {"image": str(self.picture.path), "config": self.settings.config(), "backend": backend}

    def started(self, backend: str, reason: str, total: int) -> None:
        self.backend = (backend, reason)
        self.clock.start(total)
        self.changed.emit("backend")
        self.status.emit(f"Fitting on {backend}…")

    def progress(self, p: dict) -> None:
        """One iteration's figures (``p`` as the engine sends them); the status only when a frame came."""
        self.history["iteration"].append(int(p["iteration"]))
        self.history["psnr"].append(float(p["psnr"]))
        self.history["loss"].append(float(p["loss"]))
        self.clock.tick(int(p["iteration"]), float(p["elapsed"]))
        if "frame" in p:
            self.status.emit(fit_status(p, self.clock, self.running))

    def paused(self, now: float) -> None:
        self.clock.pause(now)
        self._set_state("paused")
        done = self.history["iteration"][-1] if self.history["iteration"] else 0
        self.status.emit(f"Paused at iteration {done}/{self.clock.total}. Resume to go on, Stop to keep it.")

    def resumed(self, now: float) -> None:
        self.clock.resume(now)
        self._set_state("fitting")
        self.status.emit("Resumed…")

    def finished(self, p: dict, frame: np.ndarray | None) -> Result:
        """A fit ended (to the end, or stopped with what it had): its result becomes current and kept."""
        self._numbers += 1
        result = Result(
            self._numbers,
            self.picture.path,
            self.running,
            int(p["count"]),
            float(p["psnr"]),
            float(p["seconds"]),
            int(p["iterations"]),
            p.get("qa_start"),
            bool(p.get("stopped")),
            frame,
            self.history,
        )
        self.current = result
        self._keep(result)
        self._set_state("done")
        self.changed.emit("result")
        self.changed.emit("kept")
        self.slider_rest.emit()
        self.slider_text.emit(self.slider_hint())
        how = f"Stopped at iteration {result.iterations}" if result.stopped else "Done"
        self.status.emit(f"{how}: {result.count} Gaussians, PSNR {result.psnr:.2f} dB in {result.seconds:.0f} s.")
        return result

    def fit_ended_without_result(self) -> None:
        """The engine stopped the fit without one (closing) or failed: back to idle."""
        if self.busy():
            self._set_state("idle")

    # working on the result -----------------------------------------------------------------------------
    def measured(self, p: dict) -> None:
        if self.current is None:
            return
        self.current.file = FileSize(int(p["bytes"]), float(p["bpp"]), float(p["psnr"]), str(p["scheme"]))
        self.current.data = p.get("data")
        self._keep(self.current)
        self.changed.emit("result")
        self.changed.emit("kept")
        self.slider_text.emit(self.slider_hint())

    def requantized(self, size: int, frame: np.ndarray, psnr: float) -> None:
        """The slider's codebook is what Export writes now: a different file, so unsaved again. Its PSNR
        shows at once; the file's bytes once the slider rests and the engine has measured them."""
        r = self.current
        if r is None:
            return
        r.codebook, r.frame, r.file, r.saved, r.data = size, frame, None, None, None
        self.changed.emit("result")
        change = f"{psnr - r.psnr:+.2f} dB vs the unquantized fit's {r.psnr:.2f} dB"
        self.slider_text.emit(f"{codebook_name(size, r.count)}: PSNR {psnr:.2f} dB ({change}); measuring the file…")

    def restored(self, frame: np.ndarray) -> None:
        if self.current is None:
            return
        self.current.codebook, self.current.frame, self.current.file = None, frame, None
        self.current.saved = self.current.data = None
        self.changed.emit("result")
        self.slider_rest.emit()
        self.slider_text.emit("Back to the fit's own quantization: measuring the file…")

    def command_failed(self) -> None:
        """The engine refused a command: the readout says what is in effect, not "re-quantizing…"."""
        self.slider_text.emit(self.slider_hint())

    def exported(self, path: Path, size: int, bpp: float) -> None:
        if self.current is not None:
            self._saved_as(self.current, path)
        self.changed.emit("result")
        self.status.emit(f"Saved {path}: {size / 1000:.1f} KB ({bpp:.3f} bpp).")

    def kept_exported(self, key: str, path: Path) -> None:
        """A kept result's file was written to ``path`` (by the window, from ``Result.data``)."""
        r = self.kept_result(key)
        self._saved_as(r, path)
        self.changed.emit("result")
        self.changed.emit("kept")
        self.status.emit(f"Saved {path}: {r.file.bytes / 1000:.1f} KB ({r.file.bpp:.3f} bpp).")

    def _saved_as(self, result: Result, path: Path) -> None:
        """``result`` is on disk at ``path``, and so is every copy of it holding the same file (the current
        result and its kept snapshot), so neither asks to be saved again."""
        for r in (self.current, *self.kept):
            if r is result or (r is not None and r.key == result.key and r.data == result.data):
                r.saved = path

    def slider_hint(self) -> str:
        """The codebook slider's readout: what it does now, never the previous picture's figures."""
        r = self.current
        if self.busy():
            return "Codebook slider: available when the fit ends (or when you stop it)."
        if r is None:
            return "Codebook slider: finish a fit to explore codebook sizes."
        own = r.settings.scheme
        if r.file is None:
            return "Measuring the file Export .lgi writes…"
        writes = f"Export .lgi writes {r.file.scheme}" + (f" with {r.codebook} colours" if r.codebook else "")
        change = r.file.psnr - r.psnr
        figures = f"PSNR {r.file.psnr:.2f} dB ({change:+.2f} dB vs the unquantized fit's {r.psnr:.2f} dB)"
        if r.codebook is None:
            lead = f"The fit's own {own}. Move the slider to try a colour codebook"
            lead += "." if own in SIZED_CODEBOOK else f" (writes lgi instead of {own})."
            return f"{lead}\n{writes}: {figures}."
        return f"{codebook_name(r.codebook, r.count)}. {writes}: {figures}."

    # compare -------------------------------------------------------------------------------------------
    def _keep(self, result: Result) -> None:
        """A copy of ``result`` as it is now at the front of the kept list (replacing an older copy)."""
        snapshot = dataclasses.replace(result)
        self.kept = [snapshot, *(r for r in self.kept if r.key != snapshot.key)][:KEEP_RESULTS]

    def kept_result(self, key: str | None) -> Result | None:
        return next((r for r in self.kept if r.key == key), None)

    def set_compare(self, left: str | None, right: str | None) -> None:
        self.compare = (left, right)
        self.changed.emit("view")

    def compare_frames(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The split view's two sides: a kept result's frame or, for None, the original | the current."""
        left, right = (self.kept_result(n) for n in self.compare)
        original = self.picture.pixels if self.picture else None
        shown = self.shown_result()
        return (left.frame if left else original), (right.frame if right else shown.frame if shown else None)

    def shown_result(self) -> Result | None:
        """What the reconstruction view shows: the current result, else the opened .lgi."""
        return self.current or self.kept_result(self.lgi_key)

    def compare_caption(self) -> str:
        """Under the split view: what is left and right of the divider."""
        left, right = (self.kept_result(n) for n in self.compare)
        right = right or self.shown_result()
        original = f"original ({self.picture.file_bytes / 1000:.1f} KB)" if self.picture else "original"
        return f"Left: {left.short_label() if left else original}  |  Right: {right.short_label() if right else '-'}"

    def _set_state(self, state: str) -> None:
        self.state = state
        self.changed.emit("state")
