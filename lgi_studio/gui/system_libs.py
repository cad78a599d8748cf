"""Before Qt starts on X11: are the system libraries its xcb platform plugin needs there?

pip brings Qt but cannot bring system libraries. Without them Qt aborts with "Could not load the Qt
platform plugin xcb" and a hint that names one library (xcb-cursor0) even when others are missing (a bare
Debian 12 lacks libxcb-icccm4 and libxcb-keysyms1). So ``lgi-studio`` looks first and says in one line what
is missing and which ``apt-get`` command installs it. The table below is what ``readelf -d`` lists as
needed by PySide6 6.11's ``libqxcb.so`` and the Qt libraries it loads (Core, Gui, Widgets, DBus, XcbQpa),
minus what every Debian has (libc, libstdc++, zlib, zstd); the README's apt line installs exactly these
packages. This module imports no Qt: the check runs before Qt is loaded.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from importlib.util import find_spec
from pathlib import Path

XCB_LIBRARIES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
"""Shared library (soname) -> the Debian/Ubuntu package that installs it."""
APT_PACKAGES = list(dict.fromkeys(XCB_LIBRARIES.values()))
APT_COMMAND = "sudo apt-get install " + " ".join(APT_PACKAGES)
"""The README's line for Debian and Ubuntu (CI installs exactly this)."""

Loader = Callable[[str], object]


def platform_will_be_xcb(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will pick its X11 plugin: asked for by QT_QPA_PLATFORM, or the Linux default outside a
    Wayland session."""
    if not platform.startswith("linux"):
        return False
    asked = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if asked:
        return asked == "xcb"
    return not (environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"))


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so`` (found without importing Qt), or None where this PySide6 has none."""
    spec = find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _loads(load: Loader, name: str) -> str | None:
    """None when ``name`` loads, else the loader's reason."""
    try:
        load(name)
    except OSError as exc:
        return str(exc)
    return None


def xcb_problem(load: Loader = ctypes.CDLL, plugin: Path | None = None) -> str | None:
    """One line saying what the xcb plugin lacks and how to install it; None when it loads.

    The plugin itself is loaded first (its own search path finds libraries a frozen bundle ships); only
    when that fails is every library in the table tried, to name all that are missing, not just the first.
    """
    plugin = plugin if plugin is not None else xcb_plugin()
    reason = _loads(load, str(plugin)) if plugin is not None else None
    if reason is None:
        return None
    missing = [name for name in XCB_LIBRARIES if _loads(load, name) is not None]
    if missing:
        packages = " ".join(dict.fromkeys(XCB_LIBRARIES[name] for name in missing))
        return (
            f"lgi-studio: the X11 (xcb) display needs system libraries that are missing: {', '.join(missing)}; "
            f"install them with: sudo apt-get install {packages}"
        )
    return f"lgi-studio: Qt's X11 (xcb) plugin does not load: {reason}; on Debian/Ubuntu: {APT_COMMAND}"
