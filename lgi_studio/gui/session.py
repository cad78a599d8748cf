"""What the window shows, without Qt (napari's ViewerModel way): the picture, the settings, the fit under
way, the current result and the last few kept results of the picture, and the view.

Widgets write to the session and observe its signals; the engine's events arrive through the window's one
dispatch place and become calls here. Every rule a designer meets (never drop a result silently, what the
status says, what is enabled) lives here and is tested by driving a ``Session`` without a window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgi_studio.core.scheme_names import DEFAULT_SCHEME, SIZED_CODEBOOK

from .codebook_stops import codebook_name
from .progress import FitClock, fit_status
from .readout import FileSize, Picture, kb

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


@dataclass(frozen=True)
class FitSettings:
    """The settings panel's values; a result keeps the ones it was made with."""

    count: int = 5000
    adaptive: bool = False
    preset: str = "balanced"
    mode: str = "sum"
    qa_training: bool = True
    qa_start: float = 0.7
    scheme: str = DEFAULT_SCHEME
    codebook: int | None = None
    backend: str = "auto"
    iterations: int | None = None  # not in the panel: scripts and tests shorten a fit with it

    def config(self) -> dict:
        """The engine's FitConfig fields."""
        return {
            "count": None if self.adaptive else self.count,
            "preset": self.preset,
            "iterations": self.iterations,
            "mode": self.mode,
            "qa_training": self.qa_training,
            "qa_start": self.qa_start,
            "scheme": self.scheme,
            "codebook_size": self.codebook if self.scheme in SIZED_CODEBOOK else None,
        }


@dataclass
class Result:
    """One finished (or stopped) fit of the session's picture."""

    number: int
    picture: Path
    settings: FitSettings
    count: int
    psnr: float  # of the unquantized Gaussians, 8-bit
    seconds: float
    iterations: int
    qa_start: int | None
    stopped: bool
    frame: np.ndarray | None = None  # what the reconstruction view shows for it (the slider changes it)
    history: dict[str, list] = field(default_factory=dict)
    file: FileSize | None = None  # what Export .lgi writes now, once the engine measured it
    codebook: int | None = None  # the slider's size, None for the fit's own quantization
    saved: Path | None = None

    @property
    def key(self) -> str:
        """Names a kept result: the fit's number, and the slider's codebook if one was chosen."""
        return f"{self.number}" if self.codebook is None else f"{self.number}@{self.codebook}"

    @property
    def export_scheme(self) -> str:
        return self.file.scheme if self.file else self.settings.scheme

    def label(self) -> str:
        """How the compare lists name it."""
        size = f"{self.file.bytes / 1000:.1f} KB, " if self.file else ""
        psnr = self.file.psnr if self.file else self.psnr
        how = f"{self.count} Gaussians, {self.settings.preset}, {self.export_scheme}"
        how += f" {self.codebook} colours" if self.codebook else ""
        return f"{self._name()}: {size}{psnr:.2f} dB ({how}{', stopped' if self.stopped else ''})"

    def _name(self) -> str:
        return f"#{self.number}" + (f" codebook {self.codebook}" if self.codebook else "")

    def short_label(self) -> str:
        """How the split view's caption names it."""
        size = f"{self.file.bytes / 1000:.1f} KB, " if self.file else ""
        return f"{self._name()}: {size}{self.file.psnr if self.file else self.psnr:.2f} dB, {self.count} Gaussians"

    def summary(self) -> dict:
        """The metrics JSON's summary: this result's own settings and figures, never the panel's."""
        out = {
            "image": str(self.picture),
            "count": self.count,
            "psnr": self.psnr,
            "seconds": self.seconds,
            "iterations": self.iterations,
            "qa_start_iteration": self.qa_start,
            "stopped": self.stopped,
            "config": self.settings.config() | {"backend": self.settings.backend},
        }
        if self.file is not None:
            out |= {"bytes": self.file.bytes, "bpp": self.file.bpp, "file_psnr": self.file.psnr}
            out |= {"scheme_written": self.file.scheme, "slider_codebook": self.codebook}
        return out


class Session:
    """The state of one window. ``state``: idle, fitting, paused or done (a result to work on)."""

    def __init__(self, settings: FitSettings | None = None) -> None:
        self.settings = settings or FitSettings()
        self.picture: Picture | None = None
        self.lgi_path: Path | None = None  # an opened .lgi shown instead of a picture
        self.lgi_summary = ""  # its size readout once decoded
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
        self.picture, self.lgi_path, self.current, self.lgi_summary = picture, None, None, ""
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
        self.picture, self.lgi_path, self.current, self.kept, self.lgi_summary = None, path, None, [], ""
        self.compare = (None, None)
        self._set_state("idle")
        self.changed.emit("picture")
        self.changed.emit("kept")
        self.slider_text.emit(self.slider_hint())
        self.status.emit(f"Decoding {path.name}…")

    def lgi_opened(self, p: dict) -> None:
        """The engine decoded the .lgi: its figures go where a picture's sizes would."""
        name = Path(p["path"]).name
        self.lgi_summary = (
            f"{name}: .lgi {kb(p['bytes'])} · {p['bpp']:.3f} bpp · {p['count']} Gaussians, scheme {p['scheme']}"
        )
        self.changed.emit("picture")
        self.status.emit(self.lgi_summary)

    def lgi_failed(self) -> None:
        """A .lgi that could not be read: nothing is loaded, and the title must not name it."""
        self.lgi_path = None
        self.changed.emit("picture")

    def title(self) -> str:
        shown = self.picture.path.name if self.picture else self.lgi_path.name if self.lgi_path else None
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
        r.codebook, r.frame, r.file, r.saved = size, frame, None, None
        self.changed.emit("result")
        change = f"{psnr - r.psnr:+.2f} dB vs the unquantized fit's {r.psnr:.2f} dB"
        self.slider_text.emit(f"{codebook_name(size, r.count)}: PSNR {psnr:.2f} dB ({change}); measuring the file…")

    def restored(self, frame: np.ndarray) -> None:
        if self.current is None:
            return
        self.current.codebook, self.current.frame, self.current.file = None, frame, None
        self.current.saved = None
        self.changed.emit("result")
        self.slider_rest.emit()
        self.slider_text.emit("Back to the fit's own quantization: measuring the file…")

    def command_failed(self) -> None:
        """The engine refused a command: the readout says what is in effect, not "re-quantizing…"."""
        self.slider_text.emit(self.slider_hint())

    def exported(self, path: Path, size: int, bpp: float) -> None:
        if self.current is not None:
            self.current.saved = path
        self.changed.emit("result")
        self.status.emit(f"Saved {path}: {size / 1000:.1f} KB ({bpp:.3f} bpp).")

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
        current = self.current.frame if self.current else None
        return (left.frame if left else original), (right.frame if right else current)

    def compare_caption(self) -> str:
        """Under the split view: what is left and right of the divider."""
        left, right = (self.kept_result(n) for n in self.compare)
        right = right or self.current
        original = f"original ({self.picture.file_bytes / 1000:.1f} KB)" if self.picture else "original"
        return f"Left: {left.short_label() if left else original}  |  Right: {right.short_label() if right else '-'}"

    def _set_state(self, state: str) -> None:
        self.state = state
        self.changed.emit("state")
