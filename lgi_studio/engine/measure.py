"""Measuring the file Export .lgi would write (the window's size readout) without making commands wait.

The measure is the colour refit every .lgi goes through (``core.fit.quantize_for_file``): 2.4-4.9 s at
N=5k-20k, nearly all of it rasterizer launches (a CGLS of 25 forward and backward passes). Taichi launches
stay on the engine's main thread (one launch holds the GIL, and the runtime is not made for two threads), so
the measure runs there in steps of at most one launch (``core.refit.Steps``); the main loop answers every
command that came between two steps. The one launch-free heavy part, training a codebook (k-means), runs in
a thread like the slider's warm-up (``warmup``). A command that changes what would be written (a slider move,
Restore, a new fit or file) cancels the measure; the window asks again once the slider rests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the window imports this package: no Taichi here
    from lgi_studio.core.refit import Steps


class SteppedJob:
    """One piece of work in steps, advanced by the engine's main loop between commands (``step``)."""

    def __init__(self, steps: Steps) -> None:
        self._steps = steps
        self.then: list[Callable[[], None]] = []  # run once it has finished (an Export that came meanwhile)
        self._answer: Any = None
        self._thread: threading.Thread | None = None
        self._thread_result: list[Any] = []
        self.finished = False

    @property
    def waiting(self) -> bool:
        """Whether the job waits for its thread (then the main loop need not step it until that ends)."""
        return self._thread is not None and self._thread.is_alive()

    def step(self) -> None:
        """Run the job to its next step (at most one launch), or look whether its thread has ended."""
        if self.waiting:
            return
        if self._thread is not None:
            self._thread = None
            error, self._answer = self._thread_result
            if error is not None:
                self._steps.throw(error)  # raises it here, in the main loop, which reports it
        try:
            request = self._steps.send(self._answer)
        except StopIteration:
            self.finished = True
            for then in self.then:
                then()
            return
        self._answer = None
        if request is not None:
            self._start_thread(request)

    def _start_thread(self, work: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self._thread_result[:] = [None, work()]
            except Exception as exc:  # noqa: BLE001 - handed back to the main thread by ``step``
                self._thread_result[:] = [exc, None]

        self._thread = threading.Thread(target=run, name="measure-training", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Drop the job: no more steps; a thread still training ends on its own, its result unused."""
        self.finished = True
        self._steps.close()
