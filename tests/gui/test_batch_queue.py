"""The batch window's model without a window: the command line it runs and the queue read from the report."""

import json
from pathlib import Path

import pytest

from lgi_studio.cli import build_parser, encode_config
from lgi_studio.gui.batch_queue import BatchSettings, QueueRow, batch_command, pictures_in, queue_rows, read_report
from lgi_studio.gui.session import FitSettings


def parsed(settings: BatchSettings):
    """The command's arguments as ``lgi`` itself reads them (and the FitConfig it makes of them)."""
    program, dash_m, module, *args = batch_command(settings, python="python3")
    assert (program, dash_m, module) == ("python3", "-m", "lgi_studio.cli")
    parsed = build_parser().parse_args(args)
    return parsed, encode_config(parsed)


def test_the_count_and_the_main_window_settings_reach_lgi_batch():
    fit = FitSettings(count=321, preset="fast", mode="alpha", qa_start=0.5, scheme="lgi", codebook=64, iterations=9)
    args, cfg = parsed(BatchSettings(Path("in"), Path("out"), fit, recursive=True, jobs=2))
    assert (args.inputs, args.output_dir, args.recursive, args.jobs, args.quiet) == (["in"], "out", True, 2, True)
    assert (cfg.count, cfg.preset, cfg.iterations, cfg.qa_training, cfg.qa_start) == (321, "fast", 9, True, 0.5)
    assert (cfg.scheme, cfg.codebook_size, args.render_mode, args.target_size) == ("lgi", 64, "alpha", None)


def test_a_target_size_replaces_the_count():
    args, _cfg = parsed(BatchSettings(Path("in"), Path("out"), FitSettings(adaptive=True), target_kb=12.5))
    assert (args.target_size, args.count, args.adaptive) == ("12.5KB", None, False)


def test_a_codebook_size_only_for_the_schemes_that_take_one():
    args, cfg = parsed(BatchSettings(Path("in"), Path("out"), FitSettings(scheme="float32", codebook=64)))
    assert (args.codebook_size, cfg.codebook_size) == ("auto", None)


def report_row(picture: Path, status: str, size: int = 2000) -> dict:
    out = picture.with_suffix(".lgi")
    return {"input": str(picture), "output": str(out), "status": status, "reason": "", "bytes": size,
            "bpp": 1.25, "psnr": 30.5, "seconds": 2.0}  # fmt: skip


@pytest.fixture
def folder(tmp_path) -> list[Path]:
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.png").write_bytes(b"x")
    return tmp_path


def test_the_pictures_are_those_lgi_batch_takes(folder):
    assert [p.name for p in pictures_in(folder)] == ["a.jpg", "b.png"]
    assert [p.name for p in pictures_in(folder, recursive=True)] == ["a.jpg", "b.png", "c.png"]
    assert all(p.is_absolute() for p in pictures_in(folder))


def test_rows_from_the_report_while_running_and_after(folder):
    a, b = pictures_in(folder)
    c = folder / "sub" / "c.png"
    report = {str(a): report_row(a, "ok", 2500)}
    running = queue_rows([a, b, c], report, {}, running=True, jobs=1)
    assert [row.status for row in running] == ["ok", "encoding", "queued"]
    assert (running[0].kb, running[0].bpp, running[0].psnr, running[0].seconds) == (2.5, 1.25, 30.5, 2.0)
    assert running[0].output == a.with_suffix(".lgi")
    after = queue_rows([a, b, c], report, {}, running=False)
    assert [row.status for row in after] == ["ok", "cancelled", "cancelled"]


def test_a_row_left_from_an_earlier_run_is_still_to_do(folder):
    a, b = pictures_in(folder)
    old = {str(a): report_row(a, "ok"), str(b): report_row(b, "failed")}
    now = {**old, str(b): report_row(b, "ok")}
    assert [row.status for row in queue_rows([a, b], now, old, running=True)] == ["encoding", "ok"]


def test_only_a_finished_output_opens(folder):
    a, _ = pictures_in(folder)
    assert not QueueRow(a, "ok", output=a.with_suffix(".lgi")).openable  # no file yet
    a.with_suffix(".lgi").write_bytes(b"LGI")
    assert QueueRow(a, "ok", output=a.with_suffix(".lgi")).openable
    assert not QueueRow(a, "failed", output=a.with_suffix(".lgi")).openable


def test_the_report_is_read_whole_or_not_at_all(tmp_path):
    assert read_report(tmp_path) == {}
    (tmp_path / "report.json").write_text('{"pictures": [')
    assert read_report(tmp_path) == {}
    row = report_row(tmp_path / "a.png", "ok")
    (tmp_path / "report.json").write_text(json.dumps({"pictures": [row]}))
    assert read_report(tmp_path) == {row["input"]: row}
