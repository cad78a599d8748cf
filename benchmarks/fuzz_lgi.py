"""Structural fuzz of everything that reads .lgi files: ``read_lgi`` (and a render), ``lgi info``, ``lgi decode``
and Pillow's ``Image.open``/``load``/``thumbnail``.

Cases come from ``fuzz_cases`` (CRCs and sizes recomputed, so they reach the parsers). Each case runs in one
of a pool of long-lived child processes, capped at ``--memory-mib`` of address space above its baseline
(RLIMIT_AS) and killed after ``--time-cap`` CPU seconds (or ten times that in wall time: a busy machine
stretches wall time). A case passes when it ends the way the promise says (docs/lgi-format.md, Limits): from
Python only ``LgiFormatError`` (Pillow: or its own decompression-bomb error), from the CLI exit 0, or exit 2
with one line on stderr; nothing printed to stderr otherwise (a Rust panic prints there), no file left behind
by a refused ``decode``, a peak RSS within the cap and at most ``--work-cap`` CPU seconds (plus 3 us per
declared Gaussian).

Run: ``nice -n 10 python benchmarks/fuzz_lgi.py --cases 200000 --workers 2 --save-failures /tmp/fuzz``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import multiprocessing as mp
import os
import resource
import signal
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_cases import make_case, seed_files

TARGETS = ("read", "pillow", "info", "decode")
TARGET_WEIGHTS = np.array([4, 2, 2, 2], float)
QUEUE_DEPTH = 3
PIPE_SAFE_BYTES = 32 << 10
"""A case this small fits the pipe's buffer: sending it never waits for the child."""
SECONDS_PER_GAUSSIAN = 3e-6
"""CPU time a case may spend per Gaussian its header declares, on top of ``--work-cap``: reading (decoding and
dequantizing) and rendering 2,000,000 Gaussians takes 2-7 s here (docs/lgi-format.md, Limits)."""


@dataclass
class Report:
    cases: int = 0
    seconds: float = 0.0
    verdicts: collections.Counter = field(default_factory=collections.Counter)
    failures: list[tuple[int, str, str, str]] = field(default_factory=list)  # (case, strategy, target, what)
    peak_mib: float = 0.0
    slowest_s: float = 0.0
    crc_stops: int = 0
    """Cases refused at a checksum: the fewer, the deeper the cases reach."""


# ------------------------------------------------------------------------------------------------ child side


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _target_read(path: Path, folder: Path, index: int) -> str:
    from lgi_studio.io.lgi_format import read_lgi

    read_lgi(path).render()
    return "ok"


def _target_pillow(path: Path, folder: Path, index: int) -> str:
    from PIL import Image

    from lgi_studio.io.lgi_format import SIGNATURE

    if not path.read_bytes().startswith(SIGNATURE):  # not an .lgi file: Pillow's answer, not the plugin's
        with contextlib.suppress(Image.UnidentifiedImageError), Image.open(path):
            return "ok"
        return "refused"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            if index % 2:
                im.thumbnail((48, 48))
            else:
                im.load()
    return "ok"


def _target_cli(argv: list[str]) -> str:
    from lgi_studio.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code not in (0, 2):
        msg = f"exit code {code}"
        raise AssertionError(msg)
    return "ok" if code == 0 else "exit 2"


def _target_info(path: Path, folder: Path, index: int) -> str:
    return _target_cli(["info", str(path), *(["--json"] if index % 2 else [])])


def _target_decode(path: Path, folder: Path, index: int) -> str:
    out = folder / "out" / "picture.png"
    out.parent.mkdir(exist_ok=True)
    verdict = _target_cli(["decode", "-i", str(path), "-o", str(out)])
    left = sorted(p.name for p in out.parent.iterdir())
    expected = ["picture.png"] if verdict == "ok" else []
    for p in out.parent.iterdir():
        p.unlink()
    if left != expected:
        msg = f"decode left {left} (expected {expected})"
        raise AssertionError(msg)
    return verdict


_RUN = {"read": _target_read, "pillow": _target_pillow, "info": _target_info, "decode": _target_decode}


def _run_case(target: str, data: bytes, index: int, folder: Path) -> tuple[str, bool, float, float]:
    """(verdict, whether a checksum refused it, peak RSS above the start in MiB, CPU seconds); the verdict is
    "fail: ..." on a broken promise."""
    from PIL import Image

    from lgi_studio.io.lgi_format import LgiFormatError

    path = folder / "case.lgi"
    path.write_bytes(data)
    crc = False
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
    start_rss, start_cpu = _status_kib("VmRSS"), _cpu_seconds()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            verdict = _RUN[target](path, folder, index)
        except (LgiFormatError, Image.DecompressionBombError) as exc:
            verdict = "refused" if target in ("read", "pillow") else f"fail: {type(exc).__name__} escaped the CLI"
            crc = "CRC mismatch" in str(exc)
        except MemoryError:
            verdict = "fail: MemoryError (address-space cap)"
        except BaseException as exc:  # noqa: BLE001 - anything else is exactly what the fuzzer looks for
            verdict = f"fail: {type(exc).__name__}: {str(exc)[:200]}"
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        err = captured.read().decode(errors="replace")
    peak = (_status_kib("VmHWM") - start_rss) / 1024
    crc = crc or "CRC mismatch" in err
    return _judge_stderr(target, verdict, err), crc, peak, _cpu_seconds() - start_cpu


def _judge_stderr(target: str, verdict: str, err: str) -> str:
    if verdict.startswith("fail"):
        return verdict
    if verdict == "exit 2":
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("lgi: error: ") or "Traceback" in err:
            return f"fail: exit 2 with stderr {err[:300]!r}"
        return "refused"
    if err:
        return f"fail: printed to stderr {err[:300]!r}"
    return verdict


def _worker(conn: Connection, memory_mib: int) -> None:
    """Serve cases until told to stop: start the backend once, warm up, then cap the address space."""
    warnings.simplefilter("error")  # a warning from a reader is a broken promise too
    warnings.filterwarnings("ignore", module="taichi")
    import lgi_studio.io.pillow_plugin  # noqa: F401 - registers the format
    from lgi_kernels import ensure_backend
    from lgi_studio.cli import build_parser  # noqa: F401 - imports what the CLI imports

    ensure_backend("cpu")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="lgi-fuzz-", dir=shm) as tmp:  # in memory: fsync costs nothing
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        for i, data in enumerate(seed_files(rng)[:4]):  # compile the kernels before the cap
            for target in TARGETS:
                _run_case(target, data, i, folder)
        cap = _status_kib("VmSize") * 1024 + (memory_mib << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        conn.send("ready")
        with contextlib.suppress(EOFError, BrokenPipeError):  # the parent went away: stop quietly
            while (message := conn.recv()) is not None:
                target, data, index = message
                conn.send(_run_case(target, data, index, folder))


# ------------------------------------------------------------------------------------------------ parent side


def _process_cpu(pid: int) -> float:
    """CPU seconds a process has used (Linux /proc), 0 where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Child:
    def __init__(self, ctx, memory_mib: int, time_cap: float) -> None:
        self.time_cap = time_cap
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child_conn, memory_mib), daemon=True)
        self.process.start()
        child_conn.close()
        self.ready = False
        self.queue: collections.deque[tuple] = collections.deque()  # sent, not answered; the first one runs
        self.deadline = 0.0
        self.cpu_at_start = 0.0

    @property
    def case(self) -> tuple | None:
        return self.queue[0] if self.queue else None

    def can_take(self, size: int) -> bool:
        """Queue a few small cases ahead (a busy machine is slow to wake a waiting child), a large one only
        when the child is idle: a blocking send to a hung child would hang the parent too."""
        return self.ready and (not self.queue or (len(self.queue) < QUEUE_DEPTH and size < PIPE_SAFE_BYTES))

    def send(self, case: tuple) -> None:
        if not self.queue:
            self.started()
        self.queue.append(case)
        index, _, target, data = case
        self.conn.send((target, data, index))

    def started(self) -> None:
        """The first queued case starts now."""
        self.deadline = time.monotonic() + self.time_cap
        self.cpu_at_start = _process_cpu(self.process.pid)

    def overran(self) -> bool:
        """Whether the running case used more than ``time_cap`` CPU seconds, or ten times that in wall time
        (a busy machine stretches wall time: CPU time is the case's own work)."""
        if time.monotonic() > self.deadline + 9 * self.time_cap:
            return True
        return _process_cpu(self.process.pid) - self.cpu_at_start > self.time_cap

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def run(
    cases: int,
    seed: int = 0,
    workers: int = 2,
    time_cap: float = 30.0,
    work_cap: float = 5.0,
    memory_mib: int = 512,
    save: Path | None = None,
    progress: bool = False,
) -> Report:
    """Run ``cases`` seeded cases over a pool of ``workers`` capped children; returns the tallies."""
    rng = np.random.default_rng(seed)
    seeds = seed_files(rng)
    ctx = mp.get_context("spawn")
    children = [_Child(ctx, memory_mib, time_cap) for _ in range(workers)]
    retry: list[tuple] = []  # cases queued to a child that died before it ran them
    report = Report()
    start = time.perf_counter()
    next_case = shown = printed = 0
    with contextlib.suppress(KeyboardInterrupt), contextlib.ExitStack() as stack:  # Ctrl-C: report what ran
        stack.callback(lambda: [child.stop() for child in children])
        while report.cases < cases:
            for child in children:
                while retry or next_case < cases:
                    if not retry:
                        strategy, data = make_case(rng, seeds)
                        target = TARGETS[int(rng.choice(len(TARGETS), p=TARGET_WEIGHTS / TARGET_WEIGHTS.sum()))]
                        retry.append((next_case, strategy, target, data))
                        next_case += 1
                    if not child.can_take(len(retry[-1][3])):
                        break
                    child.send(retry.pop())
            busy = [c for c in children if c.case is not None]
            timeout = min((c.deadline for c in busy), default=time.monotonic() + 60) - time.monotonic()
            wait([c.conn for c in children], timeout=max(0.5 if timeout <= 0 else 0.01, timeout))
            for i, child in enumerate(children):
                children[i] = _collect(child, ctx, memory_mib, report, work_cap, retry, save)
            if progress and report.cases // 1000 > printed:
                printed = report.cases // 1000
                print(f"{report.cases} cases, {len(report.failures)} failures", file=sys.stderr, flush=True)
            while progress and len(report.failures) > shown:
                print("  FAIL", *report.failures[shown], file=sys.stderr, flush=True)
                shown += 1
    report.seconds = time.perf_counter() - start
    return report


def _collect(
    child: _Child, ctx, memory_mib: int, report: Report, work_cap: float, retry: list[tuple], save: Path | None
) -> _Child:
    """Take ``child``'s answer if it has one; replace it when it died or overran its time (the cases queued
    behind the culprit go to ``retry``)."""
    try:
        if not child.conn.poll():
            if child.case is not None and time.monotonic() > child.deadline and child.overran():
                _record(report, child.queue.popleft(), "fail: timeout (killed)", save)
                child.process.kill()
                child.process.join()
                retry.extend(reversed(child.queue))
                return _Child(ctx, memory_mib, child.time_cap)
            return child
        answer = child.conn.recv()
    except (EOFError, OSError):
        child.process.join()
        if child.case is not None:
            _record(report, child.queue.popleft(), f"fail: child died (exit code {child.process.exitcode})", save)
            retry.extend(reversed(child.queue))
        return _Child(ctx, memory_mib, child.time_cap)
    if answer == "ready":
        child.ready = True
        return child
    verdict, crc, peak, cpu = answer
    report.crc_stops += crc
    report.peak_mib = max(report.peak_mib, peak)
    report.slowest_s = max(report.slowest_s, cpu)
    if not verdict.startswith("fail") and cpu > work_cap + SECONDS_PER_GAUSSIAN * _declared_count(child.case[3]):
        verdict = f"fail: {cpu:.1f} s of CPU time"
    if not verdict.startswith("fail") and peak > memory_mib:
        verdict = f"fail: peak RSS {peak:.0f} MiB above the start"
    _record(report, child.queue.popleft(), verdict, save)
    if child.queue:
        child.started()
    return child


def _declared_count(data: bytes) -> int:
    """The Gaussian count in the header, when there is a well-formed one."""
    from lgi_studio.io.lgi_format import HEADER_BYTES, LgiFormatError, decode_header

    try:
        return decode_header(data[:HEADER_BYTES]).count
    except (LgiFormatError, StopIteration):
        return 0


def _record(report: Report, case: tuple, verdict: str, save: Path | None) -> None:
    index, strategy, target, data = case
    report.cases += 1
    report.verdicts[(strategy, target, verdict if not verdict.startswith("fail") else "FAIL")] += 1
    if verdict.startswith("fail"):
        report.failures.append((index, strategy, target, verdict))
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / f"case-{index:07d}-{strategy}-{target}.lgi").write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-cap", type=float, default=30.0, help="CPU seconds (10x in wall) before a kill")
    parser.add_argument("--work-cap", type=float, default=5.0, help="CPU seconds a case may use")
    parser.add_argument("--memory-mib", type=int, default=512, help="address space above each child's baseline")
    parser.add_argument("--save-failures", type=Path, default=None, help="folder for the failing files")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill -TERM stops the children too
    report = run(
        args.cases, args.seed, args.workers, args.time_cap, args.work_cap, args.memory_mib, args.save_failures, True
    )
    print(
        f"{report.cases} cases in {report.seconds:.0f} s (seed {args.seed}, {args.workers} workers): "
        f"{len(report.failures)} failures; {report.crc_stops} stopped at a CRC; peak RSS +{report.peak_mib:.0f} MiB, "
        f"slowest {report.slowest_s:.2f} s CPU"
    )
    by_outcome: collections.Counter = collections.Counter()
    for (strategy, target, verdict), n in report.verdicts.items():
        by_outcome[(strategy, target, verdict)] += n
    for (strategy, target, verdict), n in sorted(by_outcome.items()):
        print(f"  {strategy:>20} {target:>7} {verdict:>8}: {n}")
    for failure in report.failures[:50]:
        print("  FAIL", *failure)


if __name__ == "__main__":
    main()
