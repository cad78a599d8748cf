"""The window's actions (with shortcuts and tooltips), its toolbar and its menus."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

ACTIONS = (  # key, text, shortcut, tooltip
    ("open", "Open…", QKeySequence.Open, "Open a picture to fit, or a .lgi file to view"),
    ("batch", "Batch…", "Ctrl+B", "Encode a folder of pictures to .lgi files (a queue, resumable)"),
    ("start", "Start", "Ctrl+R", "Fit the picture with the settings on the left"),
    ("pause", "Pause", "Space", "Pause the fit (Resume goes on where it stopped)"),
    ("stop", "Stop", "Ctrl+.", "End the fit now and keep its result: export, slider and compare work on it"),
    ("export", "Export .lgi…", QKeySequence.Save, "Save the result as a .lgi file (the size shown above the views)"),
    ("export_png", "Export PNG…", "Ctrl+Shift+E", "Render the Gaussians into a PNG at any size"),
    ("export_metrics", "Export metrics…", "Ctrl+Shift+M", "Save the fit's PSNR and loss per iteration (CSV or JSON)"),
    ("fit_view", "Fit to view", "0", "Show the whole picture (also: double-click the picture)"),
    ("zoom_100", "Actual pixels (100%)", "1", "One picture pixel per screen pixel"),
    ("about", "About LGI Studio", None, "Version, compute backend and licence"),
)
TOOLBAR = ("open", "start", "pause", "stop", "export", "export_png", "export_metrics")
MENUS = {  # None: a separator; "recent", "kept" and "quit" are built here
    "&File": ("open", "recent", "batch", None, "export", "kept", "export_png", "export_metrics", None, "quit"),
    "&Fit": ("start", "pause", "stop"),
    "&View": ("fit_view", "zoom_100"),
    "&Help": ("about",),
}


def build_actions(window: QMainWindow, slots: dict[str, Callable[[], object]]) -> dict[str, QAction]:
    """Every action of ``ACTIONS``, connected to its slot and active anywhere in the window."""
    actions = {}
    for key, text, shortcut, tip in ACTIONS:
        action = QAction(text, window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.setToolTip(tip)
        action.triggered.connect(slots[key])
        window.addAction(action)
        actions[key] = action
    return actions


KEPT_TIP = "Save any result in the compare lists as a .lgi file: an earlier fit, a codebook size, an opened file"


def build_menus(window: QMainWindow, actions: dict[str, QAction]) -> tuple[QMenu, QMenu]:
    """The toolbar and the menu bar; returns the Open Recent and Export Kept Result menus (the window fills
    each when it opens)."""
    bar = window.addToolBar("Main")
    bar.setObjectName("main-toolbar")
    for key in TOOLBAR:
        bar.addAction(actions[key])
    built = {}
    for title, keys in MENUS.items():
        menu = window.menuBar().addMenu(title)
        for key in keys:
            if key is None:
                menu.addSeparator()
            elif key == "recent":
                built[key] = menu.addMenu("Open &Recent")
            elif key == "kept":
                built[key] = menu.addMenu("Export &Kept Result")
                built[key].menuAction().setToolTip(KEPT_TIP)
            elif key == "quit":
                menu.addAction("&Quit", QKeySequence.Quit, window.close)
            else:
                menu.addAction(actions[key])
    return built["recent"], built["kept"]
