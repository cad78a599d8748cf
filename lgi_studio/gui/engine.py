"""The engine process: runs every Taichi launch for the GUI, so the GUI process never holds the GIL for one.

A Taichi CPU launch holds Python's GIL for its whole duration, in any thread; measured here, kernels in a
QThread stalled the event loop by up to 59 ms, while the same work in a spawned child process left it
smooth. This module is that child: it imports no Qt. Commands arrive on one pipe; events leave on another;
preview frames travel through two shared-memory buffers used in turn (a notice names the one written).
``multiprocessing.Queue`` is avoided on purpose: its feeder thread needs the GIL, so transfers stall.
"""

from __future__ import annotations

import contextlib
import dataclasses
import traceback
from multiprocessing import shared_memory
from multiprocessing.connection import Connection

import numpy as np

from lgi_studio.core.scheme_names import SIZED_CODEBOOK
from lgi_studio.core.shape import covariance_px
from lgi_studio.io.images import to_uint8

FRAME_SLOTS = 2
BUFFER_SHAPES = 4
"""Frame buffers of this many shapes stay alive: the picture's and a few zoom renders'."""
CODEBOOK_STOPS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
"""Codebook sizes the GUI's slider offers."""
WARM_ORDER = [256, 512, 128, 1024, 64, 2048, 32, 4096, 16]
"""After a fit, the engine trains the slider's codebooks while idle, the likeliest sizes first."""


class FrameBuffers:
    """Two [H, W, 3] uint8 frames in shared memory, written by the engine and read by the GUI in turn."""

    def __init__(self, width: int, height: int, name: str | None = None) -> None:
        self.shape = (height, width, 3)
        size = FRAME_SLOTS * height * width * 3
        self.shm = shared_memory.SharedMemory(name=name, create=name is None, size=size if name is None else 0)
        self.frames = np.ndarray((FRAME_SLOTS, *self.shape), dtype=np.uint8, buffer=self.shm.buf)
        self.next_slot = 0

    @property
    def name(self) -> str:
        return self.shm.name

    def write(self, frame: np.ndarray) -> int:
        slot = self.next_slot
        self.frames[slot] = frame
        self.next_slot = (slot + 1) % FRAME_SLOTS
        return slot

    def read(self, slot: int) -> np.ndarray:
        return self.frames[slot].copy()

    def close(self, unlink: bool = False) -> None:
        self.frames = None
        with contextlib.suppress(FileNotFoundError):
            self.shm.close()
            if unlink:
                self.shm.unlink()


class _Session:
    """One fit (and what follows it: requantize, export) inside the engine."""

    def __init__(self, events: Connection) -> None:
        self.events = events
        self.buffers: dict[tuple[int, ...], FrameBuffers] = {}
        self.image: np.ndarray | None = None
        self.result = None
        self.requantize_cache: dict = {}
        self.last_quantized = None
        self.file_quantized = None  # (the shown quantization, what a .lgi of it holds)
        self.pending: list[int] = []
        self.shown = None  # the Gaussians the reconstruction view shows (fit, re-quantized or opened .lgi)
        self.shown_mode = None

    def send_frame(self, kind: str, frame: np.ndarray, **extra) -> None:
        """Frames of a few recent shapes each keep their buffers: replacing the picture's buffer for a zoom
        render would unlink it before the GUI had read the frame just sent in it."""
        height, width = frame.shape[:2]
        buffers = self.buffers.pop(frame.shape, None) or FrameBuffers(width, height)
        self.buffers[frame.shape] = buffers  # the most recently used last
        while len(self.buffers) > BUFFER_SHAPES:
            self.buffers.pop(next(iter(self.buffers))).close(unlink=True)
        slot = buffers.write(frame)
        self.events.send((kind, {"shm": buffers.name, "slot": slot, "width": width, "height": height, **extra}))

    def close(self) -> None:
        for buffers in self.buffers.values():
            buffers.close(unlink=True)


def _fit(session: _Session, commands: Connection, request: dict) -> bool:
    """Run one fit, answering pause/resume/stop between iterations. Returns False when asked to quit."""
    from lgi_kernels import RenderMode, ensure_backend
    from lgi_studio.core.fit import STOP, FitConfig, fit
    from lgi_studio.io.images import load_image

    session.pending = []
    info = ensure_backend(request.get("backend"))
    session.image = load_image(request["image"])
    settings = dict(request["config"])
    settings["mode"] = RenderMode.parse(settings.get("mode", "sum"))
    cfg = FitConfig(**settings)
    session.events.send(
        (
            "started",
            {
                "backend": info.name,
                "backend_reason": info.reason,
                "total": cfg.total_iterations,
                "qa_start": cfg.qa_start_iteration,
            },
        )
    )
    stream = fit(session.image, cfg)
    paused, stopped, command = False, False, None
    while True:
        while paused or commands.poll():
            command, _ = commands.recv()
            if command == "pause":
                paused = True
                session.events.send(("paused", {}))
            elif command == "resume":
                paused = False
                session.events.send(("resumed", {}))
            elif command == "quit":
                stream.close()
                session.events.send(("stopped", {}))
                return False
            elif command == "stop":  # keep what the fit has so far: it finishes as a (shorter) result
                paused, stopped = False, True
                break
        try:
            progress = stream.send(STOP) if stopped else next(stream)
        except StopIteration as done:
            session.result = done.value
            break
        fields = {k: v for k, v in dataclasses.asdict(progress).items() if k != "preview"}
        if progress.preview is not None:
            session.send_frame("progress", progress.preview, **fields)
        else:
            session.events.send(("progress", fields))
    r = session.result
    session.requantize_cache = {}
    session.last_quantized = r.quantized
    session.file_quantized = None
    session.shown, session.shown_mode = r.gaussians, cfg.mode
    session.pending = [size for size in WARM_ORDER if size <= len(r.gaussians)]
    done = {"psnr": r.psnr, "seconds": r.elapsed, "count": len(r.gaussians), "stopped": stopped}
    done |= {"iterations": len(r.history["iteration"]), "qa_start": r.qa_start}
    session.send_frame("finished", to_uint8(r.gaussians.render(mode=cfg.mode)), **done)
    return True


def _slider_scheme(name: str) -> str:
    """The scheme the codebook slider re-quantizes with: the fit's own, or lgi's colour codebook where the
    fit's scheme has no sized codebook (lgi-sq, float32)."""
    return name if name in SIZED_CODEBOOK else "lgi"


def _requantize(session: _Session, request: dict) -> None:
    from lgi_studio.core.requantize import requantize

    r = session.result
    out = requantize(
        r.gaussians,
        session.image,
        r.config.mode,
        int(request["size"]),
        scheme=_slider_scheme(r.config.scheme),
        previous=session.last_quantized,
        reference_psnr=r.psnr,
        cache=session.requantize_cache,
    )
    session.last_quantized = out.quantized
    session.shown = out.gaussians
    frame = to_uint8(out.render)
    size, scheme = int(request["size"]), _slider_scheme(r.config.scheme)
    session.send_frame(
        "requantized", frame, size=size, scheme=scheme, psnr=out.psnr, loss=out.psnr_loss, bytes=out.bytes, bpp=out.bpp
    )


def _render(session: _Session, request: dict) -> None:
    """Render what the view shows at another size, viewport or render mode (zoom, A/B toggle)."""
    from lgi_kernels import RenderMode, Viewport

    mode = RenderMode.parse(request["mode"]) if request.get("mode") else session.shown_mode
    viewport = Viewport(*request.get("viewport", (0.0, 0.0, 1.0, 1.0)))
    width, height = (int(v) for v in request.get("size", session.shown.native_size))
    if not (1 <= width <= 8192 and 1 <= height <= 8192):
        raise ValueError(f"render size {width}x{height} is outside 1..8192 pixels per side")
    frame = to_uint8(session.shown.render(width, height, mode=mode, viewport=viewport))
    corners = [viewport.x0, viewport.y0, viewport.x1, viewport.y1]
    session.send_frame("rendered", frame, tag=request.get("tag", ""), mode=mode.value, viewport=corners)


def _overlay(session: _Session, _: dict) -> None:
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
    session.events.send(("overlay", {"means": means, "cov": cov, "index": index}))


def _export_png(session: _Session, request: dict) -> None:
    """Render the shown Gaussians at ``scale`` times their native size into a picture file (atomic)."""
    from lgi_studio.io.images import save_image

    scale = float(request.get("scale", 1.0))
    width, height = (max(1, round(v * scale)) for v in session.shown.native_size)
    if not (0 < scale <= 16 and width <= 32768 and height <= 32768):
        raise ValueError(f"export scale must be in (0, 16] and give at most 32768 px per side, got {scale}")
    save_image(request["path"], session.shown.render(width, height, mode=session.shown_mode))
    session.events.send(("png_exported", {"path": request["path"], "width": width, "height": height}))


def _warm_next(session: _Session) -> None:
    """Train one pending slider codebook into the cache (without touching what export will write)."""
    from lgi_studio.core.requantize import requantize

    size = session.pending.pop(0)
    if size not in session.requantize_cache:
        r = session.result
        requantize(
            r.gaussians,
            session.image,
            r.config.mode,
            size,
            scheme=_slider_scheme(r.config.scheme),
            previous=session.last_quantized,
            reference_psnr=r.psnr,
            cache=session.requantize_cache,
        )
    if not session.pending:
        session.events.send(("warmed", {"sizes": sorted(session.requantize_cache)}))


def _file_quantized(session: _Session):
    """What Export .lgi writes for the shown quantization (the slider's codebook, else the fit's own) with
    its colours refit for the picture, as every .lgi is (``core.fit.quantize_for_file``); kept until the
    shown quantization changes, so a measured size is exported without doing the work twice."""
    from lgi_studio.core.fit import quantize_for_file

    r, chosen = session.result, session.last_quantized
    if session.file_quantized is not None and session.file_quantized[0] is chosen:
        return session.file_quantized[1]
    cfg = r.config
    scheme = chosen.scheme if chosen is not None else cfg.scheme
    quantized = quantize_for_file(
        r.gaussians, session.image, cfg.mode, scheme, cfg.codebook_size, cfg.seed, chosen, cfg.quant_steps
    )
    session.file_quantized = (chosen, quantized)
    return quantized


def _measure(session: _Session, _: dict) -> None:
    """The size and PSNR of the file Export .lgi would write now (the GUI's size readout)."""
    from lgi_studio.core.metrics import psnr_8bit
    from lgi_studio.core.schemes import scheme_of
    from lgi_studio.io.lgi_format import encode_lgi

    quantized = _file_quantized(session)
    size = len(encode_lgi(quantized))
    render = scheme_of(quantized).dequantize(quantized).render(mode=session.result.config.mode)
    height, width = session.image.shape[:2]
    measured = {"bytes": size, "bpp": 8 * size / (width * height), "psnr": psnr_8bit(render, session.image)}
    session.events.send(("measured", {**measured, "scheme": quantized.scheme}))


def _restore(session: _Session, _: dict) -> None:
    """Back to the fit's own result after the slider: its quantization for export, its render in the view."""
    r = session.result
    session.last_quantized = r.quantized
    session.shown = r.gaussians
    session.send_frame("restored", to_uint8(r.gaussians.render(mode=r.config.mode)), scheme=r.config.scheme)


def _export(session: _Session, request: dict) -> None:
    """Write the file the size readout measured (``_file_quantized``)."""
    from lgi_studio.io.lgi_format import write_lgi

    size = write_lgi(request["path"], _file_quantized(session))
    height, width = session.image.shape[:2]
    session.events.send(("exported", {"path": request["path"], "bytes": size, "bpp": 8 * size / (width * height)}))


def _open_lgi(session: _Session, request: dict) -> None:
    """Decode a .lgi file and send its render at native size."""
    from lgi_studio.io.lgi_format import read_lgi

    lgi = read_lgi(request["path"])
    header = lgi.header
    session.result, session.pending = None, []
    session.last_quantized = lgi.quantized  # the overlay colours by this file's codebook, not a previous fit's
    session.shown, session.shown_mode = lgi.gaussians(), header.mode
    frame = to_uint8(session.shown.render(mode=header.mode))
    session.send_frame(
        "lgi_opened",
        frame,
        path=request["path"],
        count=header.count,
        scheme=header.scheme,
        bytes=lgi.file_bytes,
        bpp=8 * lgi.file_bytes / (header.width * header.height),
    )


def engine_main(commands: Connection, events: Connection) -> None:
    """Entry point of the engine process: serve commands until "quit" or the GUI goes away."""
    session = _Session(events)
    handlers = {"requantize": _requantize, "export": _export, "measure": _measure, "restore": _restore}
    view_handlers = {"render": _render, "overlay": _overlay, "export_png": _export_png}
    try:
        while True:
            try:
                if session.pending and not commands.poll():
                    _warm_next(session)  # idle: prepare the slider; a command waits at most one codebook
                    continue
                command, request = commands.recv()
            except EOFError:
                return
            if command == "quit":
                return
            try:
                if command == "fit":
                    if not _fit(session, commands, request):
                        return
                elif command == "open_lgi":
                    _open_lgi(session, request)
                elif command in view_handlers:
                    if session.shown is None:
                        events.send(("error", {"message": f"nothing to {command} yet: run a fit or open a .lgi"}))
                    else:
                        view_handlers[command](session, request)
                elif command in handlers:
                    if session.result is None:
                        events.send(("error", {"message": f"nothing to {command} yet: run a fit first"}))
                    else:
                        handlers[command](session, request)
            except Exception as exc:  # noqa: BLE001 - report any failure to the GUI instead of dying silently
                events.send(("error", {"message": str(exc) or type(exc).__name__, "detail": traceback.format_exc()}))
    finally:
        session.close()
        with contextlib.suppress(OSError):
            events.close()
