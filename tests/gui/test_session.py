"""The session model without a window: no Qt is imported here."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lgi_studio.gui.progress import FitClock, fit_status
from lgi_studio.gui.readout import Picture, size_readout
from lgi_studio.gui.session import KEEP_RESULTS, FitSettings, Session


def picture(name: str = "pic.png", size: int = 30_000) -> Picture:
    return Picture(
        Path("/pictures") / name, np.zeros((48, 64, 3), np.uint8), size, size if name.endswith("png") else 2 * size
    )


def progress(iteration: int, total: int = 500, elapsed: float = 1.0, **extra) -> dict:
    fields = {"iteration": iteration, "total": total, "phase": "fit", "loss": 0.01, "psnr": 20.0}
    return fields | {"elapsed": elapsed, "count": 42, "bpp": 3.53} | extra


def finished(session: Session, stopped: bool = False, psnr: float = 28.85) -> None:
    p = {"psnr": psnr, "seconds": 3.0, "count": 60, "iterations": 120 if stopped else 500, "stopped": stopped}
    session.finished(p, np.full((48, 64, 3), 7, np.uint8))


def fitted(settings: FitSettings | None = None) -> Session:
    session = Session(settings)
    session.open_picture(picture())
    session.fit_request()
    session.started("cpu", "asked for", 500)
    session.progress(progress(1))
    finished(session)
    return session


def record(signal) -> list:
    seen = []
    signal.connect(lambda *args: seen.append(args[0] if len(args) == 1 else args))
    return seen


def test_the_session_imports_no_qt():
    code = (
        "import sys, lgi_studio.gui.session; print([m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_result_is_unsaved_until_exported_and_again_after_the_slider():
    session = fitted()
    assert session.unsaved()
    session.exported(Path("/out/pic.lgi"), 4000, 1.2)
    assert not session.unsaved()
    session.requantized(32, np.zeros((48, 64, 3), np.uint8), 27.0)
    assert session.unsaved()  # a different file now


def test_a_stopped_fit_is_a_result_to_work_on():
    session = Session()
    session.open_picture(picture())
    session.fit_request()
    finished(session, stopped=True)
    assert session.state == "done"
    assert session.current.stopped
    assert session.current.iterations == 120
    assert [r.key for r in session.kept] == [session.current.key]


def test_the_slider_readout_shows_the_loss_signed_and_the_scheme_export_writes():
    session = fitted()
    texts = record(session.slider_text)
    session.measured({"bytes": 4321, "bpp": 1.1, "psnr": 28.42, "scheme": "lgi-sq"})
    assert "-0.43 dB vs the unquantized fit's 28.85 dB" in texts[-1]
    assert "Export .lgi writes lgi-sq" in texts[-1]
    assert "writes lgi instead of lgi-sq" in texts[-1]
    session.requantized(32, np.zeros((48, 64, 3), np.uint8), 27.0)
    assert texts[-1] == (
        "Codebook 32 (the largest for 60 Gaussians): PSNR 27.00 dB (-1.85 dB vs the unquantized fit's 28.85 dB); "
        "measuring the file…"
    )
    session.measured({"bytes": 3000, "bpp": 0.8, "psnr": 27.0, "scheme": "lgi"})
    assert texts[-1].startswith("Codebook 32 (the largest for 60 Gaussians). Export .lgi writes lgi with 32 colours")
    session.restored(np.zeros((48, 64, 3), np.uint8))
    assert session.current.codebook is None


def test_opening_another_picture_clears_the_slider_readout_and_the_kept_results():
    session = fitted()
    session.measured({"bytes": 4321, "bpp": 1.1, "psnr": 28.42, "scheme": "lgi-sq"})
    texts = record(session.slider_text)
    session.open_picture(picture("other.png"))
    assert "28.42" not in texts[-1]
    assert "finish a fit" in texts[-1]
    assert session.kept == []
    assert session.current is None


def test_the_slider_readout_never_says_move_while_the_slider_is_disabled():
    session = fitted()
    texts = record(session.slider_text)
    session.fit_request()
    assert "Move" not in texts[-1]
    assert "when the fit ends" in texts[-1]


def test_the_first_fit_starts_the_engine_the_next_only_a_fit():
    session = Session()
    session.open_picture(picture())
    status = record(session.status)
    session.fit_request()
    assert status[-1] == "Starting the engine…"
    session.started("cpu", "asked for", 500)
    finished(session)
    session.fit_request()
    assert status[-1] == "Starting the fit…"


def test_metrics_summary_takes_the_results_own_settings():
    session = fitted(FitSettings(preset="fast", count=60))
    session.set_settings(preset="ultra")
    session.measured({"bytes": 4321, "bpp": 1.1, "psnr": 28.42, "scheme": "lgi-sq"})
    summary = session.current.summary()
    assert summary["config"]["preset"] == "fast"
    assert summary["iterations"] == 500
    assert isinstance(summary["iterations"], int)
    assert (summary["bytes"], summary["bpp"]) == (4321, 1.1)
    assert "qa_start_iteration" in summary
    assert "overlay" not in summary


def test_results_of_one_picture_are_kept_for_comparison():
    session = fitted()
    for _ in range(KEEP_RESULTS):
        session.fit_request()
        finished(session)
    assert [r.number for r in session.kept] == list(range(KEEP_RESULTS + 1, 1, -1))
    session.set_compare("4", None)
    left, right = session.compare_frames()
    assert left is session.kept_result("4").frame
    assert right is session.current.frame
    assert session.compare_caption() == "Left: #4: 28.85 dB, 60 Gaussians  |  Right: #7: 28.85 dB, 60 Gaussians"
    session.set_compare(None, "5")
    assert session.compare_frames()[0] is session.picture.pixels
    assert session.compare_caption().startswith("Left: original (30.0 KB)  |  Right: #5")


def test_each_codebook_size_measured_is_kept_as_it_was():
    session = fitted()
    session.measured({"bytes": 4321, "bpp": 1.1, "psnr": 28.42, "scheme": "lgi-sq"})
    slider_frame = np.ones((48, 64, 3), np.uint8)
    session.requantized(32, slider_frame, 27.0)
    session.measured({"bytes": 3000, "bpp": 0.8, "psnr": 27.0, "scheme": "lgi"})
    assert [r.key for r in session.kept] == ["1@32", "1"]
    own = session.kept_result("1")
    assert (own.file.bytes, own.codebook) == (4321, None)
    assert session.kept_result("1@32").frame is slider_frame
    assert session.kept_result("1@32").label().startswith("#1 codebook 32: 3.0 KB, 27.00 dB")


def test_a_failed_lgi_leaves_no_name_in_the_title_and_what_was_open_stays():
    session = fitted()
    result = session.current
    session.open_lgi(Path("/files/bad.lgi"))
    assert session.title() == "LGI Studio — bad.lgi"
    session.lgi_failed()
    assert session.title() == "LGI Studio — pic.png"  # the engine refused the file before dropping its fit
    assert (session.current, session.state) == (result, "done")


def test_the_status_says_paused_and_where():
    session = Session()
    session.open_picture(picture())
    session.fit_request()
    session.started("cpu", "asked for", 500)
    session.progress(progress(40))
    status = record(session.status)
    session.paused(10.0)
    assert status[-1] == "Paused at iteration 40/500. Resume to go on, Stop to keep it."
    assert session.state == "paused"
    session.resumed(12.0)
    assert session.state == "fitting"
    assert session.clock.paused_s == 2.0


def test_paused_time_counts_neither_in_elapsed_nor_in_speed():
    clock = FitClock()
    clock.start(1000)
    clock.tick(100, 10.0)
    clock.pause(100.0)
    clock.resume(160.0)  # a minute paused
    clock.tick(110, 71.0)
    assert clock.active == pytest.approx(11.0)
    assert clock.rate() == pytest.approx(10.0)


def test_no_time_left_is_claimed_while_the_count_grows():
    clock = FitClock()
    clock.start(1000)
    for i in range(1, 300, 10):
        clock.tick(i, i / 100)
    assert clock.left() is None
    assert "estimating" in fit_status(progress(290, 1000), clock, FitSettings())
    for i in range(300, 400, 10):
        clock.tick(i, i / 100)
    assert clock.left() == pytest.approx(610 / 100, rel=0.05)


def test_the_status_names_the_growing_count_and_the_float_size():
    clock = FitClock()
    clock.start(500)
    clock.tick(10, 1.0)
    text = fit_status(progress(10, count=3500), clock, FitSettings(count=5000))
    assert "3,500 of 5,000 Gaussians (growing until 30% of the fit)" in text
    assert "3.53 bpp as floats (the file is smaller)" in text


def test_size_readout_in_kb():
    session = fitted()
    pic = session.picture
    assert size_readout(pic, None) == "pic.png 30.0 KB. Fit it to see the .lgi size."
    assert size_readout(pic, session.current).endswith("→ .lgi: measuring…")
    session.measured({"bytes": 3000, "bpp": 0.78, "psnr": 28.42, "scheme": "lgi-sq"})
    text = size_readout(pic, session.current)
    assert text == "pic.png 30.0 KB → .lgi 3.0 KB · 10.0x smaller · 0.780 bpp · PSNR 28.42 dB"
    jpeg = picture("photo.jpg", 10_000)
    assert size_readout(jpeg, None).startswith("photo.jpg 10.0 KB (as PNG 20.0 KB)")
    assert size_readout(dataclasses.replace(jpeg, png_bytes=None), None).startswith("photo.jpg 10.0 KB. Fit")


def test_the_png_size_arrives_later_for_the_picture_still_open():
    session = Session()
    jpeg = dataclasses.replace(picture("photo.jpg", 10_000), png_bytes=None)
    session.open_picture(jpeg)
    session.png_measured(Path("/pictures/other.jpg"), 1)
    assert session.picture.png_bytes is None
    session.png_measured(jpeg.path, 25_000)
    assert session.picture.png_bytes == 25_000
