"""What a session keeps of its work, without Qt: the settings a fit was made with, and each result (a fit,
a codebook size the slider measured on one, or an opened .lgi file) with the exact bytes of its file once
known, so any kept result can be exported, not only the current one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgi_studio.core.scheme_names import DEFAULT_SCHEME, SIZED_CODEBOOK

from .readout import FileSize


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
    """One finished (or stopped) fit of the session's picture, or an opened .lgi file (``source``)."""

    number: int
    picture: Path
    settings: FitSettings
    count: int
    psnr: float | None  # of the unquantized Gaussians, 8-bit; an opened file's against the picture, if any
    seconds: float
    iterations: int
    qa_start: int | None
    stopped: bool
    frame: np.ndarray | None = None  # what the reconstruction view shows for it (the slider changes it)
    history: dict[str, list] = field(default_factory=dict)
    file: FileSize | None = None  # what Export .lgi writes now, once the engine measured it
    codebook: int | None = None  # the slider's size, None for the fit's own quantization
    saved: Path | None = None
    data: bytes | None = None  # the .lgi file itself, once measured: what exporting this result writes
    source: Path | None = None  # the .lgi file this result was opened from

    @classmethod
    def opened(cls, number: int, path: Path, p: dict, frame: np.ndarray, psnr: float | None) -> Result:
        """An opened .lgi file (``p`` as the engine's ``lgi_opened`` sends it); on disk already, so saved."""
        count, scheme = int(p["count"]), str(p["scheme"])
        return cls(
            number,
            path,
            FitSettings(count=count, scheme=scheme),
            count,
            psnr,
            seconds=0.0,
            iterations=0,
            qa_start=None,
            stopped=False,
            frame=frame,
            file=FileSize(int(p["bytes"]), float(p["bpp"]), psnr, scheme),
            saved=path,
            data=p["data"],
            source=path,
        )

    @property
    def key(self) -> str:
        """Names a kept result: the fit's number, and the slider's codebook if one was chosen."""
        return f"{self.number}" if self.codebook is None else f"{self.number}@{self.codebook}"

    @property
    def export_scheme(self) -> str:
        return self.file.scheme if self.file else self.settings.scheme

    def label(self) -> str:
        """How the compare lists name it."""
        preset = "opened" if self.source else self.settings.preset
        how = f"{self.count} Gaussians, {preset}, {self.export_scheme}"
        how += f" {self.codebook} colours" if self.codebook else ""
        return f"{self._name()}: {self._figures()} ({how}{', stopped' if self.stopped else ''})"

    def _name(self) -> str:
        if self.source is not None:
            return f"#{self.number} {self.source.name}"
        return f"#{self.number}" + (f" codebook {self.codebook}" if self.codebook else "")

    def _figures(self) -> str:
        """Its file's size and PSNR where known (an opened file without its picture has no PSNR)."""
        psnr = self.file.psnr if self.file else self.psnr
        parts = [f"{self.file.bytes / 1000:.1f} KB"] if self.file else []
        return ", ".join(parts + ([f"{psnr:.2f} dB"] if psnr is not None else []))

    def short_label(self) -> str:
        """How the split view's caption names it."""
        return f"{self._name()}: {self._figures()}, {self.count} Gaussians"

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
