"""Commands the engine process accepts: one frozen dataclass each, so a misspelt command or field is an
error where it is made, not a message the engine ignores.

Every command is small (paths, sizes, settings): the pipe write never blocks the sender.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import ClassVar


@dataclass(frozen=True)
class Command:
    """Base of every command; ``name`` is how the window names it (``parse``)."""

    name: ClassVar[str] = ""


@dataclass(frozen=True)
class Fit(Command):
    """Fit ``image`` (a picture file) with ``config`` (``core.fit.FitConfig``'s fields; ``mode`` as text)."""

    name: ClassVar[str] = "fit"
    image: str
    config: Mapping[str, object] = field(default_factory=dict)
    backend: str | None = None


@dataclass(frozen=True)
class Pause(Command):
    name: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume(Command):
    name: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Stop(Command):
    name: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Quit(Command):
    name: ClassVar[str] = "quit"


@dataclass(frozen=True)
class Requantize(Command):
    """Re-quantize the finished fit with a colour codebook of ``size`` entries (the slider)."""

    name: ClassVar[str] = "requantize"
    size: int


@dataclass(frozen=True)
class Measure(Command):
    """Measure the file Export would write now (bytes, bpp, PSNR): the window's size readout."""

    name: ClassVar[str] = "measure"


@dataclass(frozen=True)
class Restore(Command):
    """Back to the fit's own result after the slider: its quantization for Export, its render in the view."""

    name: ClassVar[str] = "restore"


@dataclass(frozen=True)
class Export(Command):
    """Write what the view shows as a ``.lgi`` file at ``path``."""

    name: ClassVar[str] = "export"
    path: str


@dataclass(frozen=True)
class ExportPng(Command):
    """Render the shown Gaussians at ``scale`` times their size into a picture file."""

    name: ClassVar[str] = "export_png"
    path: str
    scale: float = 1.0


@dataclass(frozen=True)
class Render(Command):
    """Render the shown Gaussians: another mode (``mode``), a part of them (``viewport``, normalized
    ``x0, y0, x1, y1``) or another size (``size``, pixels); ``tag`` comes back with the frame."""

    name: ClassVar[str] = "render"
    mode: str | None = None
    viewport: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    size: tuple[int, int] | None = None
    tag: str = ""


@dataclass(frozen=True)
class Overlay(Command):
    """Send the shown Gaussians' ellipses (the view's overlay)."""

    name: ClassVar[str] = "overlay"


@dataclass(frozen=True)
class OpenLgi(Command):
    """Decode the ``.lgi`` file at ``path`` and show it."""

    name: ClassVar[str] = "open_lgi"
    path: str


_ALL = (Fit, Pause, Resume, Stop, Quit, Requantize, Measure, Restore, Export, ExportPng, Render, Overlay, OpenLgi)
COMMANDS: dict[str, type[Command]] = {cls.name: cls for cls in _ALL}


def parse(name: str, request: Mapping[str, object] | None = None) -> Command:
    """The command ``name`` with ``request`` as its fields; an unknown name or field raises."""
    if name not in COMMANDS:
        msg = f"unknown engine command {name!r}; known: {', '.join(sorted(COMMANDS))}"
        raise ValueError(msg)
    cls = COMMANDS[name]
    known = {f.name for f in fields(cls)}
    unknown = set(request or {}) - known
    if unknown:
        msg = f"engine command {name!r} has no field {', '.join(sorted(unknown))}"
        raise TypeError(msg)
    values = dict(request or {})
    for key in ("viewport", "size"):
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    return cls(**values)
