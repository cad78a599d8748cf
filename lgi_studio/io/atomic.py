"""Atomic file writes: a temp file in the target folder, fsync, rename. A failure leaves nothing behind.

Temp files are named ``.<target name>.<pid>-<random>.lgi-tmp``. A process killed with SIGKILL (or a power
cut) leaves its temp behind; the next write to the same target removes every such temp whose process is gone,
so stale temps never pile up. ``write_together`` commits several outputs of one command as a group: all are
written and synced first, and only then renamed into place, so a full disk or an interrupt replaces none.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from .errors import OutputWriteError

TEMP_SUFFIX = ".lgi-tmp"


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it replaces ``path`` in one step, on any error it vanishes.

    An existing file at ``path`` is untouched until the new one is complete and synced.
    """
    with _staged(Path(path)) as (handle, commit):
        yield handle
        commit()


def write_together(
    files: Mapping[str | os.PathLike[str], bytes],
    renaming: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> None:
    """Write every ``path: data`` of ``files`` or none: all are written and synced before any is renamed.
    The renames run inside ``renaming()`` (the CLI holds signals off there, so they are not cut short)."""
    with contextlib.ExitStack() as stack:
        commits = []
        for path, data in files.items():
            handle, commit = stack.enter_context(_staged(Path(path)))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            commits.append(commit)
        with renaming():
            for commit in commits:
                commit(sync=False)


@contextlib.contextmanager
def _staged(target: Path) -> Iterator[tuple[BinaryIO, Callable[..., None]]]:
    """A temp file beside ``target`` and a function that syncs it (unless told it is synced) and renames it
    over ``target``; the temp is removed unless that function ran."""
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temps(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise _write_error(target, exc) from exc
    done = False
    handle = os.fdopen(fd, "wb")

    def commit(sync: bool = True) -> None:
        nonlocal done
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
        handle.close()
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
        done = True

    try:
        yield handle, commit
    except OSError as exc:
        raise _write_error(target, exc) from exc
    finally:
        handle.close()
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove temps of ``target`` left by processes that no longer exist; returns what was removed."""
    folder = target.parent if str(target.parent) else Path(".")
    removed = []
    with contextlib.suppress(OSError):
        for candidate in folder.glob(f".{_glob_escape(target.name)}.*{TEMP_SUFFIX}"):
            owner = candidate.name[len(target.name) + 2 :].split("-", 1)[0]
            if owner.isdigit() and not _alive(int(owner)):
                with contextlib.suppress(OSError):
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or sys.platform == "win32":  # Windows' os.kill(pid, 0) would send Ctrl-C
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or we cannot tell: leave its file alone
    return True


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _write_error(target: Path, exc: OSError) -> OutputWriteError:
    return OutputWriteError(f"cannot write {target}: {exc.strerror or exc}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
