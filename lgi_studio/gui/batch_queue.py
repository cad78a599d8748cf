"""The batch window's model, without Qt: the ``lgi batch`` command line its settings make, and the queue's
rows read from the ``report.json`` that ``lgi batch`` rewrites after every picture.

The window runs the batch as a child process because a Taichi launch holds the GIL: a batch inside the GUI
process would freeze the window. Following the report (not parsing the progress lines) means the queue shows
exactly what a rerun would trust, and resuming a cancelled batch needs nothing of our own."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lgi_studio.batch import collect_inputs
from lgi_studio.core.scheme_names import SIZED_CODEBOOK

from .session import FitSettings


@dataclass(frozen=True)
class BatchSettings:
    """What the batch window asks for: a folder in, a folder out, and how to encode each picture."""

    input_dir: Path
    output_dir: Path
    fit: FitSettings = field(default_factory=FitSettings)
    target_kb: float | None = None  # None: encode with the fit's Gaussian count instead
    recursive: bool = False
    jobs: int | None = None  # None: lgi batch's default (half the cores)


@dataclass(frozen=True)
class QueueRow:
    """One picture of the queue as the table shows it."""

    picture: Path
    status: str  # queued, encoding, ok, skipped, failed, cancelled
    reason: str = ""
    output: Path | None = None
    kb: float | None = None
    bpp: float | None = None
    psnr: float | None = None
    seconds: float | None = None

    @property
    def openable(self) -> bool:
        """Whether double-clicking the row can open its result."""
        return self.status in ("ok", "skipped") and self.output is not None and self.output.is_file()


def fit_arguments(fit: FitSettings, with_count: bool = True) -> list[str]:
    """The ``lgi encode`` options that give a batch picture the fit the main window would make (without the
    count when a target decides it: ``lgi`` takes one or the other)."""
    args = ["-q", fit.preset, "--render-mode", fit.mode, "--qa-start", str(fit.qa_start), "--scheme", fit.scheme]
    if with_count:
        args += ["--adaptive"] if fit.adaptive else ["-n", str(fit.count)]
    if fit.qa_training:
        args.append("--qa-training")
    if fit.codebook is not None and fit.scheme in SIZED_CODEBOOK:
        args += ["--codebook-size", str(fit.codebook)]
    if fit.iterations is not None:
        args += ["--iterations", str(fit.iterations)]
    if fit.backend != "auto":
        args += ["--backend", fit.backend]
    return args


def batch_command(settings: BatchSettings, python: str = sys.executable) -> list[str]:
    """The program and arguments that run the batch (a target size replaces the Gaussian count)."""
    args = [python, "-m", "lgi_studio.cli", "batch", str(settings.input_dir), "-o", str(settings.output_dir)]
    args += fit_arguments(settings.fit, with_count=settings.target_kb is None)
    if settings.target_kb is not None:
        args += ["--target-size", f"{settings.target_kb:g}KB"]
    if settings.recursive:
        args.append("--recursive")
    if settings.jobs is not None:
        args += ["--jobs", str(settings.jobs)]
    return [*args, "--quiet"]


def pictures_in(folder: Path, recursive: bool = False) -> list[Path]:
    """The pictures ``lgi batch`` will take from ``folder``, in its order (resolved, as its report names them)."""
    found, _ = collect_inputs([str(folder)], recursive)
    return [picture for picture, _ in found]


def read_report(output_dir: Path) -> dict[str, dict]:
    """The report's rows by input path; empty while there is none (or it cannot be read yet)."""
    try:
        rows = json.loads((Path(output_dir) / "report.json").read_text())["pictures"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {row["input"]: row for row in rows if isinstance(row, dict) and "input" in row}


def queue_rows(
    pictures: list[Path], report: dict[str, dict], before: dict[str, dict], running: bool, jobs: int = 1
) -> list[QueueRow]:
    """A row per picture. ``before``: the report as it was when the batch started: a row still equal to it
    is from an earlier run, so the picture is still to do. While ``running``, the first ``jobs`` pictures
    not done are shown encoding and the rest queued; after the batch they are cancelled."""
    rows, waiting = [], 0
    for picture in pictures:
        row = report.get(str(picture))
        if row is not None and row != before.get(str(picture)):
            rows.append(_finished(picture, row))
            continue
        if running:
            rows.append(QueueRow(picture, "encoding" if waiting < jobs else "queued"))
            waiting += 1
        else:
            rows.append(QueueRow(picture, "cancelled"))
    return rows


def _finished(picture: Path, row: dict) -> QueueRow:
    values = {key: row.get(key) for key in ("bpp", "psnr", "seconds")}
    size = row.get("bytes")
    output = Path(row["output"]) if row.get("output") else None
    return QueueRow(picture, row["status"], row.get("reason", ""), output, size / 1000 if size else None, **values)


def summary(rows: list[QueueRow]) -> str:
    """The line under the table: how far the batch is."""
    done = sum(row.status in ("ok", "skipped") for row in rows)
    failed = sum(row.status == "failed" for row in rows)
    text = f"{done} of {len(rows)} pictures done"
    return text + (f", {failed} failed" if failed else "")
