"""Entry point of the ``lgi-studio`` desktop app: ``lgi-studio [picture or file.lgi]``.

``--self-test`` checks the installation without a window and without starting Qt; ``--quit-after`` closes
the window after a while and says what happened (the packaging smoke test uses both).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Sequence
from importlib.resources import files

from lgi_studio import __version__

ICON_SIZES = (48, 128, 256)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lgi-studio", description="LGI Studio: pictures as 2D Gaussians.")
    parser.add_argument("path", nargs="?", help="picture or .lgi file to open")
    parser.add_argument("--version", action="version", version=f"lgi-studio {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation without a window (a short fit on the CPU, a .lgi round trip, the engine "
        "process) and exit 0 when it works",
    )
    parser.add_argument(
        "--quit-after",
        type=float,
        metavar="SECONDS",
        help="close the window after SECONDS, printing when it was shown and what the engine reported",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app (or the self-test); an optional picture or .lgi path opens right away."""
    # In a frozen app the engine process is this executable started again with --multiprocessing-fork:
    # freeze_support() runs the engine there and exits, instead of opening a second window.
    multiprocessing.freeze_support()
    args = build_parser().parse_args(argv)
    if args.self_test:
        from lgi_studio.selftest import run_self_test

        return run_self_test()
    return run_app(args.path, args.quit_after)


def app_icon():
    """The window icon, from the PNGs shipped inside the package (installed, editable or frozen alike)."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    folder = files("lgi_studio") / "resources"
    for size in ICON_SIZES:
        icon.addFile(str(folder / f"lgi-studio-{size}.png"))
    return icon


def run_app(path: str | None = None, quit_after: float | None = None) -> int:
    started = time.perf_counter()
    from .system_libs import platform_will_be_xcb, xcb_problem

    problem = xcb_problem() if platform_will_be_xcb() else None
    if problem:  # instead of Qt's abort, which names the wrong library
        print(problem, file=sys.stderr, flush=True)
        return 2
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("LGI Studio")
    app.setDesktopFileName("lgi-studio")  # Wayland and docks match the window to lgi-studio.desktop
    app.setWindowIcon(app_icon())
    window = MainWindow()
    window.show()
    if path:
        window.open_image(path)
    if quit_after is None:
        return app.exec()
    engine_alive = _quit_later(window, quit_after, started)
    code = app.exec()
    return code or (0 if engine_alive() else 1)


def _quit_later(window, seconds: float, started: float):
    """Report the first event-loop pass and each kind of engine event, close the window after ``seconds``.

    Returns a function telling whether the engine process was still alive when the window closed.
    """
    from PySide6.QtCore import QTimer

    seen: set[str] = set()
    alive = []

    def on_event(event) -> None:
        if event.kind not in seen:
            seen.add(event.kind)
            detail = f": {event.message}" if event.kind == "error" else ""
            print(f"engine event: {event.kind}{detail}", flush=True)

    def close() -> None:
        alive.append(window.engine.alive)
        print(f"engine process alive: {alive[0]}", flush=True)
        window.close()

    def shown() -> None:
        print(f"window shown: {time.perf_counter() - started:.2f} s for Qt and the window", flush=True)

    window.engine.event.connect(on_event)
    QTimer.singleShot(0, shown)
    QTimer.singleShot(round(seconds * 1000), close)
    return lambda: bool(alive and alive[0])


if __name__ == "__main__":
    sys.exit(main())
