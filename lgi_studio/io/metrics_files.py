"""Per-iteration fit metrics as CSV or JSON files, for the CLI and the GUI alike (written atomically)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .atomic import atomic_writer


def history_csv(history: Mapping[str, Sequence[float]]) -> str:
    """One row per iteration, one column per series (``iteration``, ``loss``, ``psnr``, ...)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = list(history)
    writer.writerow(keys)
    for row in zip(*(history[k] for k in keys), strict=True):
        writer.writerow([f"{float(v):.6g}" for v in row])
    return out.getvalue()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text.encode())


def write_metrics(
    path: str | os.PathLike[str], history: Mapping[str, Sequence[float]], summary: dict, fmt: str | None = None
) -> None:
    """``fmt`` "json": the summary plus the history; "csv": the history. By default the suffix decides."""
    if (fmt or Path(path).suffix.lower().lstrip(".")) == "json":
        number = {"iteration": int}  # iterations are counts: 500, not 500.0
        series = {k: [number.get(k, float)(v) for v in values] for k, values in history.items()}
        write_text(path, json.dumps({**summary, "history": series}, indent=1))
    else:
        write_text(path, history_csv(history))
