"""Per-iteration fit metrics as CSV or JSON files, for the CLI and the GUI alike (written atomically).

JSON has no infinity or NaN (an exact fit has an infinite PSNR): such values are written as ``null``, so
every JSON reader can read the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
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


def json_safe(value):
    """``value`` with every non-finite float replaced by None (JSON's null), in nested dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def metrics_text(
    path: str | os.PathLike[str], history: Mapping[str, Sequence[float]], summary: dict, fmt: str | None = None
) -> str:
    """``fmt`` "json": the summary plus the history; "csv": the history. By default the suffix decides."""
    if (fmt or Path(path).suffix.lower().lstrip(".")) == "json":
        number = {"iteration": int}  # iterations are counts: 500, not 500.0
        series = {k: [number.get(k, float)(v) for v in values] for k, values in history.items()}
        return json.dumps(json_safe({**summary, "history": series}), indent=1, allow_nan=False)
    return history_csv(history)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text.encode())


def write_metrics(
    path: str | os.PathLike[str], history: Mapping[str, Sequence[float]], summary: dict, fmt: str | None = None
) -> None:
    """Write ``metrics_text`` to ``path`` atomically."""
    write_text(path, metrics_text(path, history, summary, fmt))
