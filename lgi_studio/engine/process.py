"""The engine process: runs every Taichi launch for the GUI, so the GUI process never holds the GIL for one.

A Taichi CPU launch holds Python's GIL for its whole duration, in any thread; measured here, kernels in a
QThread stalled the event loop by up to 59 ms, while the same work in a spawned child process left it
smooth. This module is that child: it imports no Qt. Commands (``commands``) arrive on one pipe; events
(``events``) leave on another as ``(event, FrameRef | None)``; frames travel through shared memory
(``frames``). ``multiprocessing.Queue`` is avoided on purpose: its feeder thread needs the GIL, so
transfers stall.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

import numpy as np

from lgi_studio.core.scheme_names import SIZED_CODEBOOK
from lgi_studio.core.shape import covariance_px
from lgi_studio.io.images import to_uint8

from . import commands as cmd
from . import events as ev
from .frames import FrameWriter
from .measure import SteppedJob
from .warmup import CodebookWarmer

if TYPE_CHECKING:  # the window imports this module: no Taichi here
    from lgi_studio.core.refit import Steps

CODEBOOK_STOPS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
"""Codebook sizes the GUI's slider offers."""
WARM_POLL_S = 0.02
"""While the slider's codebooks warm, the main thread looks for commands (and the warm-up's end) this often."""


class Session:
    """One fit (and what follows it: requantize, export) inside the engine."""

    def __init__(self, events: Connection) -> None:
        self.events = events
        self.frames = FrameWriter()
        self.image: np.ndarray | None = None
        self.result = None
        self.requantize_cache: dict = {}
        self.last_quantized = None
        self.file_quantized = None  # (the shown quantization, what a .lgi of it holds): measured, then exported
        self.job: SteppedJob | None = None  # the measure under way, advanced between commands (``measure``)
        self.warmer = None  # the background training of the slider's codebooks (``warmup``)
        self.shown = None  # the Gaussians the reconstruction view shows (fit, re-quantized or opened .lgi)
        self.shown_mode = None

    def send(self, event: ev.Event, frame: np.ndarray | None = None) -> None:
        """Send ``event``; ``frame`` goes through shared memory and arrives as the event's ``frame``."""
        self.events.send((event, self.frames.write(frame) if frame is not None else None))

    def forget_result(self) -> None:
        """Drop the fit's result, stop warming its codebooks and measuring it (a new fit or file is coming)."""
        if self.warmer is not None:
            self.warmer.cancel()
        self.cancel_job()
        self.warmer, self.result, self.requantize_cache, self.file_quantized = None, None, {}, None

    def cancel_job(self) -> None:
        """Stop the measure under way (what it measured is changing); an Export waiting for it fails aloud."""
        if self.job is None:
            return
        job, self.job = self.job, None
        job.cancel()
        for _ in job.then:
            self.send(ev.Error("the result changed before the .lgi file was written: export it again"))

    def idle_wait(self) -> float | None:
        """How long the main loop may wait for a command: not at all while a measure has a step to run, a
        moment while background work runs, else until one comes (None). Looks at the warm-up every time, so
        its ``Warmed`` is not held back by a measure."""
        warming = self.warming()
        if self.job is not None and not self.job.waiting:
            return 0.0
        return WARM_POLL_S if self.job is not None or warming else None

    def step_job(self) -> None:
        """Run the measure one step further (at most one launch); a failure ends it and is reported."""
        job = self.job
        if job is None:
            return
        try:
            job.step()
        except Exception:
            if not job.finished:  # it failed on the way: an export waiting for it fails aloud too
                self.cancel_job()
            raise
        finally:
            if job.finished and self.job is job:
                self.job = None

    def warming(self) -> bool:
        """Whether the warm-up still runs; the moment it has ended, say so (``Warmed`` or ``Error``)."""
        if self.warmer is None or self.warmer.running:
            return self.warmer is not None
        warmer, self.warmer = self.warmer, None
        if warmer.error is not None:
            self.send(ev.Error(f"preparing the codebook slider failed: {warmer.error}"))
        else:
            self.send(ev.Warmed(sorted(warmer.cache)))
        return False

    def close(self) -> None:
        if self.warmer is not None:
            self.warmer.cancel()
        if self.job is not None:
            self.job.cancel()
        self.frames.close()


def _fit(session: Session, commands: Connection, request: cmd.Fit) -> bool:
    """Run one fit, answering pause/resume/stop between iterations. Returns False when asked to quit."""
    from lgi_kernels import RenderMode, ensure_backend
    from lgi_studio.core.fit import STOP, FitConfig, fit
    from lgi_studio.io.images import load_image

    session.forget_result()
    info = ensure_backend(request.backend)
    session.image = load_image(request.image)
    settings = dict(request.config)
    settings["mode"] = RenderMode.parse(settings.get("mode", "sum"))
    cfg = FitConfig(**settings)
    session.send(ev.Started(info.name, info.reason, cfg.total_iterations, cfg.qa_start_iteration))
    stream = fit(session.image, cfg)
    paused = stopped = began = False  # a generator not yet begun takes no STOP: it runs one iteration first
    while True:
        while paused or commands.poll():
            command = commands.recv()
            if isinstance(command, cmd.Pause):
                paused = True
                session.send(ev.Paused())
            elif isinstance(command, cmd.Resume):
                paused = False
                session.send(ev.Resumed())
            elif isinstance(command, cmd.Quit):
                stream.close()
                session.send(ev.Stopped())
                return False
            elif isinstance(command, cmd.Stop):  # keep what the fit has so far: it finishes as a (shorter) result
                paused, stopped = False, True
                break
            else:  # answered, not dropped: a command sent just before Start can arrive here
                session.send(ev.Refused(command.name, "a fit is running"))
        try:
            p = stream.send(STOP) if stopped and began else next(stream)
        except StopIteration as done:
            session.result = done.value
            break
        began = True
        progress = ev.Progress(p.iteration, p.total, p.phase, p.loss, p.psnr, p.elapsed, p.count, p.bpp, p.qa_start)
        session.send(progress, p.preview)
    r = session.result
    session.last_quantized = r.quantized
    session.shown, session.shown_mode = r.gaussians, cfg.mode
    frame = to_uint8(r.gaussians.render(mode=cfg.mode))
    iterations = len(r.history["iteration"])
    session.send(ev.Finished(r.psnr, r.elapsed, len(r.gaussians), stopped, iterations, r.qa_start), frame)
    scheme = slider_scheme(cfg.scheme)
    session.warmer = CodebookWarmer(r.gaussians, cfg.mode, scheme, r.quantized, session.requantize_cache).start()
    return True


def slider_scheme(name: str) -> str:
    """The scheme the codebook slider re-quantizes with: the fit's own, or lgi's colour codebook where the
    fit's scheme has no sized codebook (lgi-sq, float32)."""
    return name if name in SIZED_CODEBOOK else "lgi"


def _requantize(session: Session, request: cmd.Requantize) -> None:
    from lgi_studio.core.requantize import requantize

    r = session.result
    scheme = slider_scheme(r.config.scheme)
    out = requantize(
        r.gaussians,
        session.image,
        r.config.mode,
        request.size,
        scheme=scheme,
        previous=session.last_quantized,
        reference_psnr=r.psnr,
        cache=session.requantize_cache,
    )
    session.cancel_job()
    session.last_quantized = out.quantized
    session.shown = out.gaussians
    session.send(
        ev.Requantized(request.size, scheme, out.psnr, out.psnr_loss, out.bytes, out.bpp), to_uint8(out.render)
    )


def _render(session: Session, request: cmd.Render) -> None:
    """Render what the view shows at another size, viewport or render mode (zoom, A/B toggle)."""
    from lgi_kernels import RenderMode, Viewport

    mode = RenderMode.parse(request.mode) if request.mode else session.shown_mode
    viewport = Viewport(*request.viewport)
    width, height = (int(v) for v in (request.size or session.shown.native_size))
    if not (1 <= width <= 8192 and 1 <= height <= 8192):
        raise ValueError(f"render size {width}x{height} is outside 1..8192 pixels per side")
    frame = to_uint8(session.shown.render(width, height, mode=mode, viewport=viewport))
    corners = (viewport.x0, viewport.y0, viewport.x1, viewport.y1)
    session.send(ev.Rendered(request.tag, mode.value, corners), frame)


def _overlay(session: Session, _: cmd.Overlay) -> None:
    """The shown Gaussians as ellipses (native pixels) for the overlay, with colour-codebook indices if any."""
    from lgi_studio.core.schemes import get_scheme

    g = session.shown
    width, height = g.native_size
    cov = covariance_px(g.chol, width, height)
    index = None
    q = session.last_quantized
    if q is not None and len(q.symbols) and q.n == len(g):
        books = [use for use in get_scheme(q.scheme).codebooks(q) if use.columns.start >= 5]
        index = books[0].index.astype(np.int32) if books else None
    means = g.means.astype(np.float64) * (width, height)
    session.send(ev.Ellipses(means, cov, index))


def _export_png(session: Session, request: cmd.ExportPng) -> None:
    """Render the shown Gaussians at ``scale`` times their native size into a picture file (atomic)."""
    from lgi_studio.io.images import save_image

    scale = float(request.scale)
    width, height = (max(1, round(v * scale)) for v in session.shown.native_size)
    if not (0 < scale <= 16 and width <= 32768 and height <= 32768):
        raise ValueError(f"export scale must be in (0, 16] and give at most 32768 px per side, got {scale}")
    save_image(request.path, session.shown.render(width, height, mode=session.shown_mode))
    session.send(ev.PngExported(request.path, width, height))


def _file_quantized_steps(session: Session) -> Steps:
    """What Export .lgi writes for the shown quantization (the slider's codebook, else the fit's own) with
    its colours refit for the picture, as every .lgi is (``core.fit.quantize_for_file``); kept until the
    shown quantization changes, so a measured file is exported without doing the work twice."""
    from lgi_studio.core.fit import quantize_for_file_steps

    r, chosen = session.result, session.last_quantized
    if session.file_quantized is not None and session.file_quantized[0] is chosen:
        return session.file_quantized[1]
    cfg = r.config
    if chosen is r.quantized:  # the fit's own: what `lgi encode` writes (after staged QA, the better file)
        quantized = yield from r.final_quantized_steps(session.image)
    else:
        quantized = yield from quantize_for_file_steps(
            r.gaussians, session.image, cfg.mode, chosen.scheme, cfg.codebook_size, cfg.seed, chosen, cfg.quant_steps
        )
    session.file_quantized = (chosen, quantized)
    return quantized


def _measure_steps(session: Session) -> Steps[None]:
    """The size and PSNR of the file Export .lgi would write now (the window's size readout), in steps."""
    from lgi_studio.core.metrics import psnr_8bit
    from lgi_studio.core.schemes import scheme_of
    from lgi_studio.io.lgi_format import encode_lgi

    quantized = yield from _file_quantized_steps(session)
    data = encode_lgi(quantized)
    yield None
    render = scheme_of(quantized).dequantize(quantized).render(mode=session.result.config.mode)
    height, width = session.image.shape[:2]
    psnr = psnr_8bit(render, session.image)
    session.send(ev.Measured(len(data), 8 * len(data) / (width * height), psnr, quantized.scheme, data))


def _measure(session: Session, _: cmd.Measure) -> None:
    """Start measuring in steps (``measure``); a measure already under way answers this one too."""
    if session.job is None:
        session.job = SteppedJob(_measure_steps(session))


def _restore(session: Session, _: cmd.Restore) -> None:
    """Back to the fit's own result after the slider: its quantization for export, its render in the view."""
    session.cancel_job()
    r = session.result
    session.last_quantized = r.quantized
    session.shown = r.gaussians
    session.send(ev.Restored(r.config.scheme), to_uint8(r.gaussians.render(mode=r.config.mode)))


def _export(session: Session, request: cmd.Export) -> None:
    """Write the file the size readout measured; while it is still being measured (or was not), once that
    measure ends."""
    if session.job is None and not _file_ready(session):
        session.job = SteppedJob(_measure_steps(session))  # the readout gets the figures on the way
    if session.job is None:
        _write(session, request.path)
    else:
        session.job.then.append(lambda: _write(session, request.path))


def _file_ready(session: Session) -> bool:
    return session.file_quantized is not None and session.file_quantized[0] is session.last_quantized


def _write(session: Session, path: str) -> None:
    from lgi_studio.io.lgi_format import write_lgi

    size = write_lgi(path, session.file_quantized[1])
    height, width = session.image.shape[:2]
    session.send(ev.Exported(path, size, 8 * size / (width * height)))


def _open_lgi(session: Session, request: cmd.OpenLgi) -> None:
    """Decode a .lgi file and send its render at native size."""
    from lgi_studio.io.lgi_format import read_lgi_with_bytes

    lgi, data = read_lgi_with_bytes(request.path)
    header = lgi.header
    session.forget_result()
    session.last_quantized = lgi.quantized  # the overlay colours by this file's codebook, not a previous fit's
    session.shown, session.shown_mode = lgi.gaussians(), header.mode
    frame = to_uint8(session.shown.render(mode=header.mode))
    bpp = 8 * lgi.file_bytes / (header.width * header.height)
    session.send(ev.LgiOpened(request.path, header.count, header.scheme, lgi.file_bytes, bpp, data), frame)


VIEW_HANDLERS: dict[type[cmd.Command], Callable] = {
    cmd.Render: _render,
    cmd.Overlay: _overlay,
    cmd.ExportPng: _export_png,
}
"""Commands on what the view shows: a fit's result or an opened .lgi."""
RESULT_HANDLERS: dict[type[cmd.Command], Callable] = {
    cmd.Requantize: _requantize,
    cmd.Measure: _measure,
    cmd.Restore: _restore,
    cmd.Export: _export,
}
"""Commands that need a fit's result."""


def _handle(session: Session, commands: Connection, command: cmd.Command) -> bool:
    """Carry out one command outside a fit; False when the engine should end."""
    if isinstance(command, cmd.Fit):
        return _fit(session, commands, command)
    if isinstance(command, cmd.OpenLgi):
        _open_lgi(session, command)
    elif type(command) in VIEW_HANDLERS:
        if session.shown is None:
            session.send(ev.Error(f"nothing to {command.name} yet: run a fit or open a .lgi"))
        else:
            VIEW_HANDLERS[type(command)](session, command)
    elif type(command) in RESULT_HANDLERS:
        if session.result is None:
            session.send(ev.Error(f"nothing to {command.name} yet: run a fit first"))
        else:
            RESULT_HANDLERS[type(command)](session, command)
    elif isinstance(command, cmd.Pause | cmd.Resume | cmd.Stop):  # e.g. Stop pressed as the fit ended
        session.send(ev.Refused(command.name, "no fit is running"))
    else:
        raise TypeError(f"the engine has no handler for {command!r}")
    return True


def _step(session: Session) -> None:
    """Between commands: the measure's next step; a failure is reported, as a command's is."""
    try:
        session.step_job()
    except Exception as exc:  # noqa: BLE001 - report any failure to the GUI instead of dying silently
        session.send(ev.Error(str(exc) or type(exc).__name__, traceback.format_exc()))


def engine_main(commands: Connection, events: Connection) -> None:
    """Entry point of the engine process: serve commands until ``Quit`` or the client goes away."""
    session = Session(events)
    try:
        while True:
            try:
                if not commands.poll(session.idle_wait()):
                    _step(session)
                    continue
                command = commands.recv()
            except EOFError:
                return
            if isinstance(command, cmd.Quit):
                return
            try:
                if not _handle(session, commands, command):
                    return
            except Exception as exc:  # noqa: BLE001 - report any failure to the GUI instead of dying silently
                session.send(ev.Error(str(exc) or type(exc).__name__, traceback.format_exc()))
    except (BrokenPipeError, ConnectionResetError):
        return  # the window is gone (killed or crashed): nobody to answer, nothing to report
    finally:
        session.close()
        with contextlib.suppress(OSError):
            events.close()
