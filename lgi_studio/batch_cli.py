"""The ``lgi batch`` subcommand: its options (those of ``lgi encode``, shared) and its progress display."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

SKIPPED_ENCODE_OPTIONS = frozenset({"help", "input", "output", "metrics_csv", "metrics_json"})
"""``lgi encode`` options that name one picture's files; every other one applies to each picture."""


def add_batch_parser(commands: argparse._SubParsersAction, encode: argparse.ArgumentParser) -> None:
    """Add ``lgi batch``, taking over ``encode``'s options so that the two never drift apart."""
    batch = commands.add_parser("batch", help="encode many pictures (files, folders, globs) to .lgi, resumable")
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="pictures, folders or globs ('photos/*.jpg')")
    batch.add_argument("-o", "--output-dir", required=True, help="folder for the .lgi files and report.csv/json")
    batch.add_argument("--jobs", type=int, default=None, help="pictures at once (default: half the cores)")
    batch.add_argument("--recursive", action="store_true", help="include subfolders (and ** in globs)")
    batch.add_argument("--scheduler", default=None, help="run on this Dask cluster (tcp://host:8786) instead")
    for action in encode._actions:  # argparse has no public way to share options between subcommands
        if action.dest not in SKIPPED_ENCODE_OPTIONS:
            batch._add_action(action)
    batch.set_defaults(run=run_batch_command)


def workers_and_threads(jobs: int | None, pictures: int, cores: int | None = None) -> tuple[int, int]:
    """Processes and threads per process: ``jobs x threads <= cores`` unless more jobs are asked for."""
    cores = cores or os.cpu_count() or 1
    if jobs is not None and jobs < 1:
        from lgi_studio.cli import CliError

        raise CliError(f"--jobs must be at least 1, got {jobs}")
    workers = max(1, min(jobs or cores // 2, max(pictures, 1)))
    return workers, max(1, cores // workers)


def run_batch_command(args: argparse.Namespace) -> int:
    """Encode every picture; 0 when all are done (encoded or complete already), 1 when any failed."""
    from tqdm import tqdm

    from lgi_studio import batch
    from lgi_studio.cli import EXIT_INTERRUPTED, CliError, encode_config

    cfg = encode_config(args)
    outdir = Path(args.output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise CliError(f"cannot write into {outdir}: it is a file")
    pictures, missing = batch.collect_inputs(args.inputs, args.recursive)
    target = (args.target_size, args.target_bpp, args.target_psnr)
    flags = (args.metadata, args.keep_metadata)
    jobs, clashes = batch.plan(pictures, outdir, cfg, target, args.backend, flags)
    settings = batch.settings_of(cfg, target, *flags)
    clashes += [batch._row(m, "", "failed", "no such file, folder or match", settings) for m in missing]
    if not jobs and not clashes:
        raise CliError("no pictures found in " + ", ".join(args.inputs))
    workers, threads = workers_and_threads(args.jobs, len(jobs))
    with tqdm(total=len(jobs) + len(clashes), unit="picture", disable=args.quiet, dynamic_ncols=True) as bar:

        def say(line: str) -> None:
            bar.write(line)
            bar.update(1)

        for row in clashes:
            say(batch.describe(row))
        if args.scheduler:
            runner = partial(batch.run_dask, address=args.scheduler)
        else:
            runner = partial(batch.run_local, workers=workers, threads=threads)
        try:
            rows = batch.run_batch(jobs, outdir, runner, say, extra=clashes)
        except KeyboardInterrupt:
            kept = sum(row["status"] != "failed" for row in batch.load_report(outdir).values())
            print(f"lgi: interrupted; {kept} finished pictures kept, rerun to go on", file=sys.stderr)
            return EXIT_INTERRUPTED
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
    failed = sum(row["status"] == "failed" for row in rows)
    print(f"{len(rows) - failed} of {len(rows)} pictures done, {failed} failed; report in {outdir / 'report.csv'}")
    return 1 if failed else 0
