"""The one owner of ``ti.init``: lazy, idempotent, thread-safe, with automatic backend choice.

Nothing here runs at import time. ``ensure_backend()`` is called by every kernel wrapper before a launch, so
the first launch (in whatever thread or process does the work) starts Taichi; later calls are a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import os
import sys
import tempfile
import threading
from dataclasses import dataclass

BACKENDS = ("cuda", "vulkan", "metal", "cpu")
"""Auto-selection order: the first one that starts wins."""

ENV_VAR = "LGI_BACKEND"
CACHE_ENV_VAR = "TI_OFFLINE_CACHE_FILE_PATH"

_DISPLAY = {"cuda": "CUDA", "vulkan": "Vulkan", "metal": "Metal", "cpu": "CPU"}


class BackendError(RuntimeError):
    """A backend was asked for explicitly and cannot start."""


@dataclass(frozen=True)
class BackendInfo:
    """Which backend is running, and a one-line reason for how it was chosen."""

    name: str
    reason: str


_lock = threading.Lock()
_active: BackendInfo | None = None


def _usable_folder(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _user_cache_root() -> str | None:
    """Where this user's caches belong: ``$XDG_CACHE_HOME``, ``%LOCALAPPDATA%`` or ``~/.cache``."""
    if os.environ.get("XDG_CACHE_HOME"):
        return os.environ["XDG_CACHE_HOME"]
    if sys.platform == "win32":
        return os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), ".cache")
    home = os.environ.get("HOME")
    return os.path.join(home, ".cache") if home else None


def prepare_cache_folders() -> str:
    """Give Taichi writable cache folders; call before Taichi is imported. Returns the kernel cache folder.

    Taichi keeps files under ``$XDG_CACHE_HOME`` (else ``$HOME/.cache``): with neither variable set its
    import aborts the process, and with a read-only folder it warns about its cache lock. Our compiled
    kernels go to ``$TI_OFFLINE_CACHE_FILE_PATH``. When the user's cache folder is missing or read-only
    (a kiosk, a service, a sandbox), both move to a per-user folder under the temporary directory: kernels
    are then compiled again after a reboot, but everything works.
    """
    root = _user_cache_root()
    if root is None or not _usable_folder(root):
        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        root = os.path.join(tempfile.gettempdir(), f"lgi-studio-{user}", "cache")
        if sys.platform != "win32":
            os.environ["XDG_CACHE_HOME"] = root
    return os.environ.setdefault(CACHE_ENV_VAR, os.path.join(root, "lgi-studio", "taichi"))


def active_backend() -> BackendInfo | None:
    """The running backend, or None when Taichi has not been started yet."""
    return _active


def _normalize(name: str | None) -> str:
    choice = (name or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if choice not in (*BACKENDS, "auto"):
        msg = f"unknown backend {choice!r}: choose one of auto, {', '.join(BACKENDS)}"
        raise BackendError(msg)
    return choice


def _unavailable_reason(name: str) -> str | None:
    """Why ``name`` cannot run here, or None when Taichi reports it usable."""
    from taichi._lib import core as ti_core

    if name == "cpu":
        return None
    if name == "cuda" and ctypes.util.find_library("cuda") is None:
        return "no CUDA driver (libcuda) found"
    probes = {"cuda": ti_core.with_cuda, "vulkan": ti_core.with_vulkan, "metal": ti_core.with_metal}
    try:
        usable = bool(probes[name]())
    except Exception as exc:  # noqa: BLE001 - a driver probe may raise anything; it only means "no"
        return f"probe failed ({exc})"
    return None if usable else f"Taichi reports no usable {name} device or driver"


def _start(name: str) -> str:
    """ti.init on ``name``; returns the arch Taichi actually started (it may fall back silently)."""
    import taichi as ti
    from taichi.lang import impl

    arch = {"cuda": ti.cuda, "vulkan": ti.vulkan, "metal": ti.metal, "cpu": ti.cpu}[name]
    prepare_cache_folders()  # Taichi reads the kernel cache folder from the environment
    with contextlib.redirect_stdout(io.StringIO()):  # ti.init prints "[Taichi] Starting on arch=..." itself
        ti.init(arch=arch, default_fp=ti.f32, offline_cache=True)
    started = impl.current_cfg().arch
    return "cpu" if started in (ti.x64, ti.arm64) else started.name


def ensure_backend(name: str | None = None) -> BackendInfo:
    """Start Taichi once and return which backend runs.

    ``name`` (or ``$LGI_BACKEND``) is ``auto`` or one of ``cuda|vulkan|metal|cpu``. Auto tries them in
    that order and falls back to the CPU with a reason; an explicit choice that cannot start raises
    ``BackendError``. A later call with a different explicit ``name`` raises too: Taichi runs one backend
    per process. A later call without one (every kernel launch) takes the running backend, whatever
    ``$LGI_BACKEND`` says: the environment chooses only when nothing else has (``--backend cpu`` wins).
    """
    global _active
    if name is None and _active is not None:
        return _active
    choice = _normalize(name)
    with _lock:
        if _active is not None:
            if choice not in ("auto", _active.name):
                msg = f"backend already started as {_active.name}; cannot switch to {choice} in this process"
                raise BackendError(msg)
            return _active
        _active = _choose(choice)
        return _active


def _choose(choice: str) -> BackendInfo:
    if choice != "auto":
        reason = _unavailable_reason(choice)
        if reason is not None:
            msg = f"{choice} backend not available: {reason}"
            raise BackendError(msg)
        started = _start(choice)
        if started != choice:
            msg = f"{choice} backend did not start (Taichi fell back to {started})"
            raise BackendError(msg)
        return BackendInfo(choice, f"{choice} requested explicitly")
    skipped = []
    for candidate in BACKENDS:
        reason = _unavailable_reason(candidate)
        if reason is None:
            started = _start(candidate)
            if started == candidate:
                note = "; ".join(skipped)
                using = f"using {_DISPLAY[candidate]}"
                return BackendInfo(candidate, f"{note}, {using}" if note else using)
            reason = f"fell back to {started} during start"
            import taichi as ti

            ti.reset()
        skipped.append(f"{_DISPLAY[candidate]} not available: {reason}")
    msg = "no backend could start, not even the CPU"
    raise BackendError(msg)
