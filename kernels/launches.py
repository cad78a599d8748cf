"""Timing of individual kernel launches, for the benchmarks' "longest single launch" figure.

A Taichi CPU launch holds the Python GIL for its whole duration, so the longest launch bounds how long any
other Python thread (the GUI's, for one) can be starved.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

_record: list[float] | None = None


def launch(kernel: Callable[..., Any], *args: Any) -> None:
    """Run one kernel launch, timing it when a ``recorded_launches`` block is active."""
    if _record is None:
        kernel(*args)
        return
    start = time.perf_counter()
    kernel(*args)
    _record.append(time.perf_counter() - start)


@contextlib.contextmanager
def recorded_launches() -> Iterator[list[float]]:
    """Collect the duration in seconds of every launch made inside the block (not thread-safe: benchmarks only)."""
    global _record
    previous, _record = _record, []
    try:
        yield _record
    finally:
        _record = previous
