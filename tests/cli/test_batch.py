"""``lgi batch``: folders, globs, the report, resuming, a bad picture, a process pool and a Dask cluster."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lgi_studio import batch, codec
from lgi_studio.batch_cli import workers_and_threads
from lgi_studio.cli import main
from lgi_studio.io.lgi_format import read_lgi

FAST = ["-n", "30", "--iterations", "15", "--quiet"]


def pictures(folder: Path, count: int, size=(24, 32)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        rng = np.random.default_rng(k)
        yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
        rgb = np.stack([xx * 7 + 20 * k, yy * 9, rng.integers(0, 60) + xx * 3], -1) % 256
        paths.append(folder / f"p{k}.png")
        Image.fromarray(rgb.astype(np.uint8)).save(paths[-1])
    return paths


def report(outdir: Path) -> dict[str, dict]:
    return {Path(row["input"]).name: row for row in json.loads((outdir / "report.json").read_text())["pictures"]}


def test_a_folder_with_a_bad_picture(tmp_path, capsys):
    pictures(tmp_path / "in", 2)
    pictures(tmp_path / "in" / "sub", 1)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), *FAST]) == 1  # one failed
    rows = report(out)
    assert {name: row["status"] for name, row in rows.items()} == {
        "p0.png": "ok",
        "p1.png": "ok",
        "broken.png": "failed",
    }
    assert rows["broken.png"]["reason"].endswith(
        "broken.png: not a picture Pillow can read (PNG, JPEG, WebP, TIFF, BMP, ...)"
    )
    for name in ("p0", "p1"):
        row = rows[f"{name}.png"]
        assert read_lgi(out / f"{name}.lgi").file_bytes == row["bytes"] == (out / f"{name}.lgi").stat().st_size
        assert row["psnr"] > 15
        assert row["gaussians"] == 30
        assert row["settings"]["iterations"] == 15
    assert not (out / "broken.lgi").exists()
    csv_lines = (out / "report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("input,output,status,reason,bytes,bpp,psnr,gaussians,seconds")
    assert len(csv_lines) == 4
    text = capsys.readouterr().out
    assert "broken.png: FAILED" in text
    assert "2 of 3 pictures done, 1 failed" in text
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "deep"), "--recursive", *FAST]) == 1
    assert (tmp_path / "deep" / "sub" / "p0.lgi").is_file()  # subfolders kept apart


def test_a_rerun_skips_complete_outputs_and_says_why(tmp_path, capsys):
    pictures(tmp_path / "in", 2)
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "in" / "*.png"), "-o", str(out), *FAST]
    assert main(argv) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.lgi")}
    capsys.readouterr()
    assert main(argv) == 0
    rows = report(out)
    assert all(row["status"] == "skipped" for row in rows.values())
    assert all("already holds this picture at these settings" in row["reason"] for row in rows.values())
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.lgi")} == before
    assert "p0.png: skipped (complete" in capsys.readouterr().out
    (out / "p1.lgi").write_bytes(b"damaged")  # an output that is no longer what the report says
    assert main([*argv[:-1], "--iterations", "15"]) == 0
    assert {n: r["status"] for n, r in report(out).items()} == {"p0.png": "skipped", "p1.png": "ok"}
    assert main([*argv[:-3], "--iterations", "16", "--quiet"]) == 0  # other settings: encoded again
    assert all(row["status"] == "ok" for row in report(out).values())


def test_ctrl_c_keeps_finished_files_and_no_partial_one(tmp_path, capsys, monkeypatch):
    pictures(tmp_path / "in", 3)
    real, calls = codec.encode_image, []

    def interrupted_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(codec, "encode_image", interrupted_on_the_second)
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), "--jobs", "1", *FAST]) == 130
    assert sorted(p.name for p in out.iterdir()) == ["p0.lgi", "report.csv", "report.json"]
    assert "1 finished pictures kept" in capsys.readouterr().err
    monkeypatch.setattr(codec, "encode_image", real)
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), "--jobs", "1", *FAST]) == 0
    assert [r["status"] for r in report(out).values()] == ["skipped", "ok", "ok"]


def test_resume_after_a_kill(tmp_path):
    """SIGKILL in the middle of a picture: whole files only, and the rerun finishes the rest."""
    pictures(tmp_path / "in", 4, size=(48, 64))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "lgi_studio.cli", "batch", str(tmp_path / "in"), "-o", str(out), "--jobs", "1"]
    argv += ["-n", "60", "--iterations", "400", "--quiet"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "report.json").exists() and len(report(out)) >= 1:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert (out / "report.json").exists()
    finished = set(report(out))
    assert finished
    for lgi in out.glob("*.lgi"):
        assert 0 < read_lgi(lgi).header.count <= 60  # a whole file under every output name (pruning may drop some)
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), "--jobs", "1", *argv[-5:]]) == 0
    rows = report(out)
    assert {n for n, r in rows.items() if r["status"] == "skipped"} == finished
    assert len(rows) == 4
    assert not list(out.glob(".*.tmp"))  # what the kill left behind is cleaned up


def test_jobs_run_in_their_own_processes(tmp_path):
    paths = pictures(tmp_path / "in", 2)
    out = tmp_path / "out"
    assert main(["batch", *map(str, paths), "-o", str(out), "--jobs", "2", *FAST]) == 0
    assert all(row["status"] == "ok" for row in report(out).values())


def test_a_missing_input_and_two_pictures_with_one_output_are_reported(tmp_path):
    a = pictures(tmp_path / "a", 1)[0]
    b = pictures(tmp_path / "b", 1)[0]
    out = tmp_path / "out"
    assert main(["batch", str(a), str(b), str(tmp_path / "nothing*.png"), "-o", str(out), *FAST]) == 1
    rows = json.loads((out / "report.json").read_text())["pictures"]
    assert [r["status"] for r in rows] == ["ok", "failed", "failed"]
    assert "also" in rows[1]["reason"]
    assert rows[2]["reason"] == "no such file, folder or match"


def test_jobs_times_threads_fit_the_cores():
    assert workers_and_threads(None, 10, cores=16) == (8, 2)
    assert workers_and_threads(None, 3, cores=16) == (3, 5)
    assert workers_and_threads(4, 10, cores=16) == (4, 4)
    assert workers_and_threads(None, 10, cores=2) == (1, 2)
    assert workers_and_threads(32, 40, cores=16) == (32, 1)


def test_a_dask_cluster_runs_the_same_jobs(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    paths = pictures(tmp_path / "in", 2)
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert main(["batch", *map(str, paths), "-o", str(out), "--scheduler", cluster.scheduler_address, *FAST]) == 0
    rows = report(out)
    assert [r["status"] for r in rows.values()] == ["ok", "ok"]
    assert all(read_lgi(out / f"p{k}.lgi").header.count == 30 for k in range(2))


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", "0.5s")
    paths = pictures(tmp_path / "in", 1)
    argv = ["batch", str(paths[0]), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9", *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgi: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "out" / "p0.lgi").exists()


def test_collect_inputs_from_files_folders_and_globs(tmp_path):
    pictures(tmp_path / "in", 2)
    pictures(tmp_path / "in" / "sub", 1)
    (tmp_path / "in" / "notes.txt").write_text("not a picture")
    flat, missing = batch.collect_inputs([str(tmp_path / "in")], recursive=False)
    assert [str(rel) for _, rel in flat] == ["p0.png", "p1.png"]
    deep, _ = batch.collect_inputs([str(tmp_path / "in")], recursive=True)
    assert [str(rel) for _, rel in deep] == ["p0.png", "p1.png", "sub/p0.png"]
    globbed, missing = batch.collect_inputs([str(tmp_path / "in" / "*1.png"), "absent.png"], recursive=False)
    assert [str(rel) for _, rel in globbed] == ["p1.png"]
    assert missing == ["absent.png"]
