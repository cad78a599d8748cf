"""SIGINT and SIGTERM for the ``lgi`` command: stop anywhere, write nothing, never stop half-way through the
final renames of a command's outputs.

Python raises ``KeyboardInterrupt`` for SIGINT only, and only where the interpreter next looks; a library
that swallows the exception (or a C extension that runs for a while) could make a Ctrl-C vanish. So the
handler also remembers the signal, and ``checkpoint()`` (after the backend start, after every fit
iteration, before the outputs are committed) raises it again; ``received`` lets ``main`` report an error
that a library raised in place of the interrupt as the interrupt. A signal that lands in a finaliser or an
import lock's callback cannot propagate; Python would print "Exception ignored in ..." and a traceback, so
while the handlers are installed such an ``Interrupted`` is left silent for the checkpoint to raise.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: stop wherever the program is and write nothing."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """What ``main`` does on SIGINT and SIGTERM: raise ``Interrupted`` (remembering it, so that a signal whose
    exception some library swallowed still stops the command at the next ``checkpoint``), except while the
    outputs are being renamed into place (``deferred``): that step is not stopped half-way."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.deferring = False

    def handle(self, signum: int, frame: object) -> None:
        self.received = self.received or signum
        if not self.deferring:
            raise Interrupted(signum)

    def checkpoint(self) -> None:
        if self.received is not None and not self.deferring:
            raise Interrupted(self.received)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.checkpoint()
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    def reinstall(self) -> None:
        """Put the handlers back (after code that may have replaced them); signals work in the main thread."""
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                signal.signal(sig, self.handle)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM inside the block, as before it outside; forget earlier signals."""
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle) for sig in SIGNALS}
        previous_hook = sys.unraisablehook

        def unraisable(report: sys.UnraisableHookArgs) -> None:
            if not isinstance(report.exc_value, Interrupted):
                previous_hook(report)

        sys.unraisablehook = unraisable
        try:
            yield
        finally:
            sys.unraisablehook = previous_hook
            for sig, handler in previous.items():
                signal.signal(sig, handler)


signals = Signals()
