"""Entry point of the ``lgi-studio`` desktop app: ``lgi-studio [picture]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; an optional picture path opens it right away."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    args = list(sys.argv[1:] if argv is None else argv)
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("LGI Studio")
    window = MainWindow()
    window.show()
    if args:
        window.open_image(args[0])
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
