"""``lgi_studio.interrupts`` alone: a signal whose exception the interpreter cannot raise (it arrived inside a
finaliser or an import lock's callback) still stops the command at the next checkpoint, and prints nothing
of its own: the user reads one line, not "Exception ignored in ..." and a traceback (CI, 1 run in ~20)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SIGNAL_IN_A_FINALISER = """
import gc, signal, sys
from lgi_studio.interrupts import Interrupted, signals

class Finalised:
    def __del__(self):
        signals.handle(signal.SIGINT, None)

with signals.installed():
    Finalised()
    gc.collect()
    try:
        signals.checkpoint()
    except Interrupted as error:
        print("stopped by", error.signum == signal.SIGINT)
"""

OTHER_UNRAISABLE = """
import gc
from lgi_studio.interrupts import signals

class Broken:
    def __del__(self):
        raise ValueError("a real bug")

with signals.installed():
    Broken()
    gc.collect()
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_signal_raised_where_it_cannot_propagate_prints_nothing_and_stops_at_the_checkpoint():
    done = _run(SIGNAL_IN_A_FINALISER)
    assert done.stdout == "stopped by True\n"
    assert done.stderr == ""


def test_other_unraisable_errors_are_still_reported():
    done = _run(OTHER_UNRAISABLE)
    assert "ValueError: a real bug" in done.stderr
