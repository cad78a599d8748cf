"""Events the engine process sends: one frozen dataclass each (superqt's typed worker signals, across a
process boundary), so an event the receiver cannot handle is an error, not silence.

Events that carry a picture have a ``frame`` field: on the pipe it is None and the frame itself travels
through shared memory (``frames.FrameRef``); the client fills it in before handing the event on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base of every event; ``kind`` names it for the window's handlers (``_on_<kind>``)."""

    kind: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        """The fields as a dict (shallow: arrays are not copied); ``frame`` only when there is one, so
        ``"frame" in payload`` asks whether a picture came."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if values.get("frame", False) is None:
            del values["frame"]
        return values


@dataclass(frozen=True)
class Started(Event):
    """A fit has begun on ``backend``; ``total`` iterations, QA from ``qa_start`` (None: no QA)."""

    kind: ClassVar[str] = "started"
    backend: str
    backend_reason: str
    total: int
    qa_start: int | None


@dataclass(frozen=True)
class Progress(Event):
    """One fit iteration (``core.fit.FitProgress``); ``frame`` is the live preview when one was taken."""

    kind: ClassVar[str] = "progress"
    iteration: int
    total: int
    phase: str
    loss: float
    psnr: float
    elapsed: float
    count: int
    bpp: float
    qa_start: int | None = None
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Paused(Event):
    kind: ClassVar[str] = "paused"


@dataclass(frozen=True)
class Resumed(Event):
    kind: ClassVar[str] = "resumed"


@dataclass(frozen=True)
class Stopped(Event):
    kind: ClassVar[str] = "stopped"


@dataclass(frozen=True)
class Finished(Event):
    """The fit ended with a result: at its last iteration, or early (``stopped``) after Stop, which keeps the
    result so far. Final PSNR (dB), seconds, Gaussian count, ``iterations`` run, the iteration QA began at
    (None: it never did) and the final render."""

    kind: ClassVar[str] = "finished"
    psnr: float
    seconds: float
    count: int
    stopped: bool = False
    iterations: int = 0
    qa_start: int | None = None
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Requantized(Event):
    """The fit re-quantized at ``size`` entries with ``scheme``: PSNR, dB lost, payload bytes, bpp."""

    kind: ClassVar[str] = "requantized"
    size: int
    scheme: str
    psnr: float
    loss: float
    bytes: int
    bpp: float
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Measured(Event):
    """The file Export .lgi would write now: its bytes, bits per pixel, decoded PSNR (dB), scheme, and the
    file itself (``data``: the window keeps it, so a kept result can be exported after the next fit)."""

    kind: ClassVar[str] = "measured"
    bytes: int
    bpp: float
    psnr: float
    scheme: str
    data: bytes


@dataclass(frozen=True)
class Restored(Event):
    """The fit's own result is back in the view (after the slider): its ``scheme`` and render."""

    kind: ClassVar[str] = "restored"
    scheme: str
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Rendered(Event):
    """A render asked for by ``Render`` (same ``tag``), in ``mode``, of ``viewport``."""

    kind: ClassVar[str] = "rendered"
    tag: str
    mode: str
    viewport: tuple[float, float, float, float]
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Ellipses(Event):
    """The shown Gaussians for the overlay: ``means`` [N, 2] and ``cov`` [N, 2, 2] in native pixels, and
    each one's colour-codebook entry [N] int32 when quantized with one (else None)."""

    kind: ClassVar[str] = "overlay"
    means: np.ndarray
    cov: np.ndarray
    index: np.ndarray | None


@dataclass(frozen=True)
class PngExported(Event):
    kind: ClassVar[str] = "png_exported"
    path: str
    width: int
    height: int


@dataclass(frozen=True)
class Exported(Event):
    """A ``.lgi`` file written: its size in bytes and bits per pixel."""

    kind: ClassVar[str] = "exported"
    path: str
    bytes: int
    bpp: float


@dataclass(frozen=True)
class LgiOpened(Event):
    """A .lgi file decoded: its figures, the bytes read (``data``: exporting it writes them) and its render."""

    kind: ClassVar[str] = "lgi_opened"
    path: str
    count: int
    scheme: str
    bytes: int
    bpp: float
    data: bytes
    frame: np.ndarray | None = None


@dataclass(frozen=True)
class Warmed(Event):
    """Every slider size is trained: a move to any of ``sizes`` costs one quantize and render."""

    kind: ClassVar[str] = "warmed"
    sizes: list[int]


@dataclass(frozen=True)
class Refused(Event):
    """A command the engine cannot carry out now (``reason``): a render sent just before Start that arrived
    during the fit, a Stop pressed as the fit ended; nothing failed, nothing changed."""

    kind: ClassVar[str] = "refused"
    command: str
    reason: str


@dataclass(frozen=True)
class Error(Event):
    """A command failed (or the engine went away): one line for the user, the traceback for a report."""

    kind: ClassVar[str] = "error"
    message: str
    detail: str = ""


EVENTS: tuple[type[Event], ...] = (
    Started,
    Progress,
    Paused,
    Resumed,
    Stopped,
    Finished,
    Requantized,
    Measured,
    Restored,
    Rendered,
    Ellipses,
    PngExported,
    Exported,
    LgiOpened,
    Warmed,
    Refused,
    Error,
)
