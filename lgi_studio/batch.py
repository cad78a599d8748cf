"""``lgi batch``: many pictures to ``.lgi`` files, in parallel, resumable (docs/batch.md).

Each picture is one job through ``codec.encode_image``, run in a local process pool (each worker its own
Taichi, ``jobs x threads <= cores``), in this process when there is one job at a time, or on an existing
Dask cluster (``--scheduler``). Outputs are written atomically, and ``report.json``/``report.csv`` are
rewritten after every picture, so a batch stopped in any way (Ctrl-C, a kill, a crash) leaves whole files
only, and a rerun skips each picture whose output is complete: the report records the same picture
(SHA-256 of its bytes) at the same settings, and the file is there at the size recorded and reads as a
``.lgi``. A picture that fails is reported and skipped; the exit code is 1 when any failed.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import glob
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
REPORT_FIELDS = (
    "input", "output", "status", "reason", "bytes", "bpp", "psnr", "gaussians", "seconds",
    "target", "target_met", "settings", "fingerprint",
)  # fmt: skip
CONNECT_TIMEOUT = "20s"
"""How long ``--scheduler`` waits for the cluster before giving up."""
THREAD_VARIABLES = ("TI_CPU_MAX_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One picture to encode, with everything a worker process needs (picklable)."""

    input: str
    output: str
    cfg: Any  # core.fit.FitConfig
    target: tuple[int | str | None, float | None, float | None]  # --target-size, --target-bpp, --target-psnr
    backend: str | None
    record_settings: bool
    keep_metadata: bool
    settings: dict  # JSON-able: what the report records and the fingerprint covers


def settings_of(cfg: Any, target: tuple, record_settings: bool, keep_metadata: bool) -> dict:
    """The settings of a batch as JSON-able values (the render mode by name, the steps as numbers)."""
    values = dataclasses.asdict(cfg)
    values["mode"] = cfg.mode.value
    names = ("target_size", "target_bpp", "target_psnr")
    flags = {"metadata": record_settings, "keep_metadata": keep_metadata}
    return {**values, **dict(zip(names, target, strict=True)), **flags}


def collect_inputs(patterns: Iterable[str], recursive: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(picture, its path relative to where it was found) for files, folders and globs; and what matched
    nothing. A folder gives the pictures in it (and in its subfolders with ``recursive``)."""
    found: dict[Path, Path] = {}
    missing = []
    for pattern in patterns:
        paths = [Path(p) for p in sorted(glob.glob(pattern, recursive=recursive))] or [Path(pattern)]
        if not any(p.exists() for p in paths):
            missing.append(pattern)
            continue
        for path in paths:
            if path.is_dir():
                walk = path.rglob("*") if recursive else path.glob("*")
                for child in sorted(walk):
                    if child.is_file() and child.suffix.lower() in PICTURE_SUFFIXES:
                        found.setdefault(child.resolve(), child.relative_to(path))
            elif path.is_file():
                found.setdefault(path.resolve(), Path(path.name))
    return list(found.items()), missing


def plan(
    pictures: list[tuple[Path, Path]], outdir: Path, cfg: Any, target: tuple, backend: str | None, flags: tuple
) -> tuple[list[Job], list[dict]]:
    """The jobs, and a failed row for each picture whose output another picture already takes.
    ``flags``: (``--metadata``, ``--keep-metadata``)."""
    settings = settings_of(cfg, target, *flags)
    jobs, clashes, taken = [], [], {}
    for picture, relative in pictures:
        output = outdir / relative.with_suffix(".lgi")
        if output in taken:
            reason = f"its output {output} is also {taken[output]}'s: rename one of them"
            clashes.append(_row(str(picture), str(output), "failed", reason, settings))
            continue
        taken[output] = picture
        jobs.append(Job(str(picture), str(output), cfg, target, backend, *flags, settings))
    return jobs, clashes


def fingerprint(job: Job) -> str:
    """What makes an output complete: the picture's bytes and the settings it was encoded with."""
    digest = hashlib.sha256(Path(job.input).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps([digest, job.settings], sort_keys=True).encode()).hexdigest()[:32]


def _row(source: str, output: str, status: str, reason: str, settings: dict, **values: Any) -> dict:
    return {"input": source, "output": output, "status": status, "reason": reason, "settings": settings, **values}


def encode_job(job: Job) -> dict:
    """Encode one picture and write its ``.lgi`` atomically; a row for the report, never an exception
    (a bad picture must not stop the batch; Ctrl-C still stops it)."""
    from lgi_studio import codec
    from lgi_studio.io.errors import ImageReadError, OutputWriteError
    from lgi_studio.targets import Target

    start = time.perf_counter()
    try:
        stamp = fingerprint(job)
        codec.start_backend(job.backend)
        picture = codec.as_picture(job.input)
        height, width = picture.shape[:2]
        target = Target.from_options(*job.target, width, height)
        kept = codec.carried_metadata(job.input) if job.keep_metadata else None
        options = {"target": target, "record_settings": job.record_settings, "metadata": kept}
        encoded = codec.encode_image(picture, job.cfg, **options)
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        size = codec.write_file(job.output, encoded.data)
    except Exception as exc:  # noqa: BLE001 - whatever one picture raises is that picture's failure
        plain = isinstance(exc, (ImageReadError, OutputWriteError, OSError, ValueError))
        reason = str(exc) if plain else f"{type(exc).__name__}: {exc}"
        return _row(job.input, job.output, "failed", reason, job.settings, seconds=_since(start))
    report = encoded.target
    return _row(
        job.input,
        job.output,
        "ok",
        "",
        job.settings,
        bytes=size,
        bpp=round(encoded.bpp, 4),
        psnr=round(encoded.psnr, 3),
        gaussians=encoded.quantized.n,
        seconds=_since(start),
        target=report.target.asked if report else "",
        target_met=report.met if report else "",
        fingerprint=stamp,
    )


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def complete(job: Job, previous: dict | None) -> str | None:
    """Why ``job`` need not run again (None when it must): its output is the one the report recorded."""
    from lgi_studio.io.lgi_format import LgiFormatError, read_lgi

    if previous is None or previous.get("status") not in ("ok", "skipped"):
        return None
    out = Path(job.output)
    if not out.is_file() or out.stat().st_size != previous.get("bytes"):
        return None
    try:
        if previous.get("fingerprint") != fingerprint(job):
            return None
        read_lgi(out)
    except (OSError, LgiFormatError):
        return None
    return f"complete: {out.name} already holds this picture at these settings"


def load_report(outdir: Path) -> dict[str, dict]:
    """The previous run's rows by output path (empty when there is none or it is unreadable)."""
    try:
        rows = json.loads((outdir / "report.json").read_text())["pictures"]
        return {row["output"]: row for row in rows}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_report(outdir: Path, rows: list[dict]) -> None:
    """report.json and report.csv, atomically (the csv has the settings as JSON in one column)."""
    from lgi_studio.io.metrics_files import write_text

    failed = sum(row["status"] == "failed" for row in rows)
    summary = {"pictures": rows, "failed": failed, "done": sum(row["status"] != "failed" for row in rows)}
    write_text(outdir / "report.json", json.dumps(summary, indent=1))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "settings": json.dumps(row.get("settings"), sort_keys=True)})
    write_text(outdir / "report.csv", out.getvalue())


def remove_stale_temporaries(outdir: Path) -> None:
    """Temporary files a killed batch left (``io.atomic``'s ``.NAME.XXXX.tmp``): never outputs, remove them."""
    for pattern in (".*.lgi.*.tmp", ".report.json.*.tmp", ".report.csv.*.tmp"):
        for stale in outdir.rglob(pattern):
            with contextlib.suppress(OSError):
                stale.unlink()


def limit_threads(threads: int) -> None:
    """Pool initializer: this worker's share of the cores, before Taichi or NumPy start."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def run_local(jobs: list[Job], workers: int, threads: int) -> Iterator[dict]:
    """Rows as jobs finish: in this process for one worker, else in a pool of spawned processes."""
    if workers <= 1:
        for job in jobs:
            yield encode_job(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=limit_threads, initargs=(threads,))
    futures = {pool.submit(encode_job, job): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool:
                yield _row(job.input, job.output, "failed", "its worker process died", job.settings)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_workers(pool)


def _stop_workers(pool: Any) -> None:
    """End the pool's processes now (on Ctrl-C a running fit would otherwise finish first)."""
    stop = getattr(pool, "terminate_workers", None)  # Python 3.14
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
        process.join(5)


def run_dask(jobs: list[Job], address: str) -> Iterator[dict]:
    """Rows as jobs finish on the Dask cluster at ``address`` (workers should run one thread each)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        msg = 'lgi batch --scheduler needs Dask: pip install "lgi-studio[cluster]"'
        raise RuntimeError(msg) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        msg = f"cannot reach the Dask scheduler at {address}: {exc}"
        raise RuntimeError(msg) from None
    with client:
        futures = {client.submit(encode_job, job, pure=False): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker or task is that picture's failure
                yield _row(job.input, job.output, "failed", f"on the cluster: {exc}", job.settings)


def run_batch(
    jobs: list[Job],
    outdir: Path,
    runner: Callable[[list[Job]], Iterator[dict]],
    say: Callable[[str], None] = print,
    extra: list[dict] | None = None,
) -> list[dict]:
    """Skip the complete jobs, run the rest through ``runner``, rewrite the report after each picture.
    ``extra``: rows decided beforehand (inputs that matched nothing, clashing outputs), reported as well."""
    outdir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(outdir)
    previous = load_report(outdir)
    rows: dict[str, dict] = {}  # by input, in the order of the jobs, then the extra rows
    todo = []
    for job in jobs:
        reason = complete(job, previous.get(job.output))
        rows[job.input] = {**previous[job.output], "status": "skipped", "reason": reason} if reason else {}
        if reason:
            say(describe(rows[job.input]))
        else:
            todo.append(job)
    rows.update({row["input"]: row for row in extra or []})
    try:
        for row in runner(todo):
            rows[row["input"]] = row
            say(describe(row))
            write_report(outdir, [r for r in rows.values() if r])
    finally:
        write_report(outdir, [r for r in rows.values() if r])
    return [r for r in rows.values() if r]


def describe(row: dict) -> str:
    """The per-picture line: what came out, or why not."""
    name = Path(row["input"]).name
    if row["status"] == "failed":
        return f"{name}: FAILED: {row['reason']}"
    if row["status"] == "skipped":
        return f"{name}: skipped ({row['reason']})"
    target = f", target {row['target']} {'met' if row['target_met'] else 'NOT met'}" if row.get("target") else ""
    return (
        f"{name} -> {row['output']}: {row['bytes']} bytes, {row['bpp']} bpp, {row['psnr']:.2f} dB, "
        f"{row['gaussians']} Gaussians, {row['seconds']:.1f} s{target}"
    )
