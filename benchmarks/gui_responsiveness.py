"""GUI responsiveness: event-loop stalls while a fit runs, command latency while the engine trains the
slider's codebooks and measures the file in the background, time to first live frame, window start-up,
codebook-slider latency.

Run: ``python benchmarks/gui_responsiveness.py`` (offscreen unless a display is set). A 5 ms QTimer in the GUI
thread measures the gaps between its ticks while the engine process works; a stall is the gap minus 5 ms.
Command latency is the time from the window's send to the engine's answer arriving as a signal in the GUI
thread (pipe, engine, pipe, worker thread, queued signal), for commands sent while the warm-up and the size
readout's measure (which the window asks for when a fit finishes) run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from kodak import kodak_images
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
from PySide6.QtWidgets import QApplication
from report import print_table

from lgi_studio.gui.main_window import CODEBOOK_STOPS, MainWindow

TICK_MS = 5
COMMAND_GAP_S = 0.03
"""Pause between two probing commands during the warm-up."""
ANSWERS = {"overlay": "overlay", "render": "rendered", "fit": "started"}
"""The event that answers each probing command."""


def wait_until(app: QApplication, condition, timeout_s: float) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.001)
    return False


def measure_fit(app: QApplication, window: MainWindow, count: int, seconds: float, qa: bool) -> dict[str, str]:
    """Sample the event loop during a fit; with ``qa`` the fit trains quantization-aware from its first
    iteration (scheme lgi: codebook entries trained every iteration), so the sampled seconds are all QA."""
    window.count.setValue(count)
    window.preset.setCurrentText("ultra")
    window.qa.setChecked(qa)
    window.qa_start.setValue(0.0 if qa else 0.7)
    window.scheme.setCurrentText("lgi")
    gaps: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(TICK_MS)

    def tick() -> None:
        gaps.append(clock.restart())

    timer.timeout.connect(tick)
    start = time.perf_counter()
    window.start_fit()
    wait_until(app, lambda: len(window.plots.iterations) > 0 and window.pair.items[1].image is not None, 120)
    first_frame = time.perf_counter() - start
    clock.start()
    timer.start()
    wait_until(app, lambda: False, seconds)
    timer.stop()
    iterations = window.plots.iterations[-1] if window.plots.iterations else 0
    window.stop_fit()
    wait_until(app, lambda: window.state == "done", 10)  # Stop keeps the result
    stalls = np.maximum(np.array(gaps[1:]) - TICK_MS, 0.0)
    return {
        "N": str(count),
        "QA": "yes" if qa else "no",
        "first frame s": f"{first_frame:.2f}",
        "stall p50 ms": f"{np.percentile(stalls, 50):.1f}",
        "stall p99 ms": f"{np.percentile(stalls, 99):.1f}",
        "stall max ms": f"{stalls.max():.1f}",
        "ticks": str(len(stalls)),
        "iterations in window": str(iterations),
    }


class Answers:
    """Timestamps of the engine's events as they arrive in the GUI thread."""

    def __init__(self, window: MainWindow) -> None:
        self.seen: dict[str, float] = {}
        window.engine.event.connect(self.record)

    def record(self, event) -> None:
        self.seen[event.kind] = time.perf_counter()

    def latency(self, app: QApplication, window: MainWindow, command: str, request: dict | None = None) -> float:
        """Seconds from sending ``command`` to its answer (``ANSWERS``) arriving."""
        answer = ANSWERS[command]
        self.seen.pop(answer, None)
        start = time.perf_counter()
        if command == "fit":
            window.start_fit()
        else:
            window.engine.send(command, request)
        wait_until(app, lambda: answer in self.seen, 120)
        return self.seen[answer] - start


def measure_commands(app: QApplication, window: MainWindow, answers: Answers, count: int) -> dict[str, str]:
    """After a fast fit of ``count`` Gaussians (lgi-sq, the default), probe the engine with overlay and
    small-render commands until it has warmed every slider size and measured the file, then press Start;
    the event loop is sampled meanwhile."""
    window.count.setValue(count)
    window.preset.setCurrentText("fast")
    window.qa.setChecked(False)
    window.scheme.setCurrentText("lgi-sq")
    answers.seen.pop("warmed", None)
    answers.seen.pop("measured", None)
    window.start_fit()
    wait_until(app, lambda: window.state == "done", 900)
    done = time.perf_counter()
    gaps, clock, timer = [], QElapsedTimer(), QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: gaps.append(clock.restart()))
    clock.start()
    timer.start()
    latencies = []
    small = {"viewport": [0.4, 0.4, 0.6, 0.6], "size": [192, 128], "tag": "bench"}
    while not {"warmed", "measured"} <= set(answers.seen):
        command = ("overlay", None) if len(latencies) % 2 == 0 else ("render", small)
        latencies.append(answers.latency(app, window, *command))
        wait_until(app, lambda: False, COMMAND_GAP_S)
    warm_s, measure_s = answers.seen["warmed"] - done, answers.seen["measured"] - done
    timer.stop()
    start_s = answers.latency(app, window, "fit")
    window.stop_fit()
    wait_until(app, lambda: window.state == "idle", 30)
    ms = np.array(latencies) * 1000
    stalls = np.maximum(np.array(gaps[1:]) - TICK_MS, 0.0)
    return {
        "N": str(count),
        "warm-up s": f"{warm_s:.1f}",
        "measure s": f"{measure_s:.1f}",
        "commands": str(len(ms)),
        "latency p50 ms": f"{np.percentile(ms, 50):.0f}",
        "latency p99 ms": f"{np.percentile(ms, 99):.0f}",
        "latency max ms": f"{ms.max():.0f}",
        "Start answered ms": f"{start_s * 1000:.0f}",
        "stall p99 ms": f"{np.percentile(stalls, 99):.1f}",
        "stall max ms": f"{stalls.max():.1f}",
    }


def measure_slider(app: QApplication, window: MainWindow) -> list[dict[str, str]]:
    window.count.setValue(10000)
    window.preset.setCurrentText("fast")
    window.start_fit()
    wait_until(app, lambda: window.state == "done", 600)
    start = time.perf_counter()
    wait_until(app, lambda: "warmed" in window.last_result, 600)
    print(f"engine prepared every slider size {time.perf_counter() - start:.1f} s after the fit ended")
    rows = []
    for size in (64, 256, 1024, 4096, 256):
        window.last_result.pop("requantized", None)
        start = time.perf_counter()
        window.slider.setValue(CODEBOOK_STOPS.index(size))
        wait_until(app, lambda: "requantized" in window.last_result, 120)
        total = time.perf_counter() - start
        rows.append(
            {
                "codebook": str(size),
                "slider move to new picture ms": f"{total * 1000:.0f}",
                "of which debounce ms": str(window.slider_timer.interval()),
            }
        )
    return rows


def window_startup() -> float:
    """Seconds from interpreter start to the window shown and painted once, in a fresh process."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from lgi_studio.gui.main_window import MainWindow\n"
        "app = QApplication([]); w = MainWindow(); w.show()\n"
        "def shown():\n"
        "    w.grab(); print(time.perf_counter() - t0, flush=True); w.close()\n"
        "QTimer.singleShot(0, shown); app.exec()\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - start if not out.stdout.strip() else float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to sample during each fit")
    parser.add_argument("--counts", type=int, nargs="*", default=[5000, 20000])
    parser.add_argument("--qa", choices=["no", "yes", "both"], default="both", help="quantization-aware fits")
    parser.add_argument("--skip-slider", action="store_true")
    parser.add_argument("--skip-fits", action="store_true", help="skip the stall measurement during fits")
    parser.add_argument("--skip-commands", action="store_true", help="skip the command latency during warm-up")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(os.environ.get("TMPDIR", "/tmp")) / "lgi-bench.ini"), QSettings.IniFormat)
    window = MainWindow(settings=settings)
    window.ask_unsaved = lambda: "discard"  # each measured fit replaces the last without a prompt
    window.show()
    window.open_image(kodak_images(False, ["kodim23"])[0])
    window.qa.setChecked(False)
    window.count.setValue(500)
    window.preset.setCurrentText("fast")
    window.start_fit()  # warm the engine: spawn, import, ti.init, kernel cache
    wait_until(app, lambda: window.state == "done", 300)
    answers = Answers(window)
    print(f"platform: {app.platformName()}, timer {TICK_MS} ms (warm engine)")
    if not args.skip_fits:
        modes = {"no": [False], "yes": [True], "both": [False, True]}[args.qa]
        rows = [measure_fit(app, window, n, args.seconds, qa) for n in args.counts for qa in modes]
        print_table(rows, f"Event-loop stalls while the engine trains (768x512, kodim23, {args.seconds:.0f} s per fit)")
    if not args.skip_commands:
        rows = [measure_commands(app, window, answers, n) for n in args.counts]
        title = "Command latency while the engine warms the codebooks and measures the file (fast lgi-sq fit, kodim23)"
        print_table(rows, title)
    if not args.skip_slider:
        window.qa.setChecked(False)
        print_table(measure_slider(app, window), "Codebook slider, N=10000 after a fast fit, sizes prepared")
    window.close()
    print(f"\nwindow shown and painted {window_startup():.2f} s after interpreter start (fresh process)")


if __name__ == "__main__":
    main()
