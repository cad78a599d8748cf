"""Kept results: an opened .lgi is kept like a fitted result, and any kept result can be exported, not only
the current one. First the session without a window, then the window with the real engine."""

from pathlib import Path

import numpy as np
import pytest

from lgi_studio.gui.session import Session
from tests.gui.test_session import fitted, picture

TIMEOUT_MS = 90_000


def opened(path: str, frame: np.ndarray, data: bytes = b"LGI file") -> dict:
    """An ``lgi_opened`` payload as the engine sends it."""
    return {"path": path, "count": 60, "scheme": "lgi-sq", "bytes": len(data), "bpp": 0.5, "data": data}


def open_lgi(session: Session, path: str, frame: np.ndarray, data: bytes = b"LGI file") -> None:
    session.open_lgi(Path(path))
    session.lgi_opened(opened(path, frame, data), frame)


def measured(session: Session, data: bytes = b"the fit's file") -> None:
    session.measured({"bytes": len(data), "bpp": 1.1, "psnr": 28.42, "scheme": "lgi-sq", "data": data})


def test_an_opened_lgi_of_the_pictures_size_is_kept_beside_its_fits():
    session = fitted()
    measured(session)
    frame = np.full((48, 64, 3), 10, np.uint8)  # the picture is all 0: an error of 10 levels everywhere
    open_lgi(session, "/files/earlier.lgi", frame)
    assert session.picture is not None  # still there to compare with
    assert [r.key for r in session.kept] == ["2", "1"]
    kept = session.kept[0]
    assert kept.label() == "#2 earlier.lgi: 0.0 KB, 28.13 dB (60 Gaussians, opened, lgi-sq)"
    assert kept.file.psnr == pytest.approx(10 * np.log10(255**2 / 100))
    assert session.current is None
    assert session.shown_result() is kept
    assert session.title() == "LGI Studio — earlier.lgi"
    assert "PSNR 28.13 dB against pic.png" in session.lgi_summary
    session.set_compare("1", None)  # the fit left, the opened file right
    left, right = session.compare_frames()
    assert left is session.kept_result("1").frame
    assert right is frame
    assert session.compare_caption().endswith("Right: #2 earlier.lgi: 0.0 KB, 28.13 dB, 60 Gaussians")


def test_an_opened_lgi_of_another_size_starts_afresh_and_two_of_one_size_are_compared():
    session = fitted()
    open_lgi(session, "/files/a.lgi", np.zeros((20, 30, 3), np.uint8))
    assert session.picture is None
    assert [r.label() for r in session.kept] == ["#2 a.lgi: 0.0 KB (60 Gaussians, opened, lgi-sq)"]
    open_lgi(session, "/files/b.lgi", np.ones((20, 30, 3), np.uint8))
    assert [r.source.name for r in session.kept] == ["b.lgi", "a.lgi"]
    session.set_compare("2", None)
    left, right = session.compare_frames()
    assert (left.max(), right.max()) == (0, 1)


def test_a_fit_after_an_opened_lgi_keeps_the_file_in_the_list():
    session = Session()
    session.open_picture(picture())
    open_lgi(session, "/files/x.lgi", np.zeros((48, 64, 3), np.uint8))
    session.fit_request()
    assert session.title() == "LGI Studio — pic.png"
    assert session.lgi_summary == ""
    assert [r.key for r in session.kept] == ["1"]


def test_every_kept_result_holds_its_file_and_knows_when_it_was_saved():
    session = fitted()
    measured(session, b"own")
    session.requantized(32, np.ones((48, 64, 3), np.uint8), 27.0)
    measured(session, b"codebook 32")
    open_lgi(session, "/files/x.lgi", np.zeros((48, 64, 3), np.uint8), b"opened")
    assert {r.key: r.data for r in session.kept} == {"2": b"opened", "1@32": b"codebook 32", "1": b"own"}
    assert session.kept_result("2").saved == Path("/files/x.lgi")  # on disk already
    assert session.kept_result("1").saved is None
    session.kept_exported("1", Path("/out/own.lgi"))
    assert session.kept_result("1").saved == Path("/out/own.lgi")
    assert session.kept_result("1@32").saved is None


def test_exporting_the_current_results_kept_copy_saves_the_current_result():
    session = fitted()
    measured(session)
    assert session.unsaved()
    session.kept_exported("1", Path("/out/own.lgi"))
    assert not session.unsaved()
    session.requantized(32, np.ones((48, 64, 3), np.uint8), 27.0)
    measured(session, b"codebook 32")
    session.kept_exported("1", Path("/out/own-again.lgi"))  # another file than the one Export writes now
    assert session.unsaved()


# the window, with the real engine -------------------------------------------------------------------------


def test_the_unsaved_prompt_says_whether_discard_keeps_the_result():
    from lgi_studio.gui.dialogs import unsaved_question

    kept = unsaved_question("a new fit", stays_kept=True)
    assert kept.startswith("Save it before a new fit? Discarding keeps it in the compare list")
    assert kept.endswith("File > Export Kept Result saves it.")
    assert unsaved_question("closing LGI Studio", stays_kept=False).endswith("Discarding loses it.")


def test_an_opened_lgi_is_in_the_compare_lists_and_every_kept_result_exports(
    qtbot, window, picture, tmp_path, monkeypatch
):
    from lgi_studio.io.lgi_format import read_lgi, write_lgi
    from tests.io.test_lgi_format import quantized

    assert window.open_image(picture)
    window.start_fit()
    qtbot.waitUntil(
        lambda: window.session.current is not None and window.session.current.file is not None, timeout=TIMEOUT_MS
    )
    fit_bytes, fit_count = window.session.current.file.bytes, window.session.current.count
    source = tmp_path / "x.lgi"
    write_lgi(source, quantized())  # 64 x 48, as the picture
    assert window.open_image(source)
    qtbot.waitUntil(lambda: window.session.lgi_key is not None, timeout=TIMEOUT_MS)
    assert window.pair.original is not None  # the picture stays, to compare with
    names = [window.compare_left.itemText(i) for i in range(window.compare_left.count())]
    assert names[0] == "Original"
    assert names[1].startswith("#2 x.lgi: ")
    assert names[2].startswith("#1: ")
    window.fill_kept_menu()
    entries = window.kept_menu.actions()
    assert [a.text() for a in entries] == names[1:]
    assert all(a.isEnabled() for a in entries)
    assert window.kept_menu.isEnabled()

    assert window.export_kept("1", tmp_path / "fit.lgi")  # the fit, no longer the current result
    assert (tmp_path / "fit.lgi").stat().st_size == fit_bytes
    assert read_lgi(tmp_path / "fit.lgi").header.count == fit_count
    assert window.status.text().startswith(f"Saved {tmp_path / 'fit.lgi'}: ")
    assert window.export_kept("2", tmp_path / "copy.lgi")
    assert (tmp_path / "copy.lgi").read_bytes() == source.read_bytes()
    assert not window.export_kept("1", tmp_path / "missing" / "fit.lgi")
    assert window.status.text().startswith("Error: Cannot save fit.lgi: the folder")

    assert window.actions["export"].isEnabled()  # Export .lgi saves what the view shows: a copy of the file
    asked = []
    choose = lambda *args: asked.append(args[2]) or (str(tmp_path / "shown.lgi"), "")  # noqa: E731
    monkeypatch.setattr("lgi_studio.gui.exports.QFileDialog.getSaveFileName", choose)
    window.actions["export"].trigger()
    assert asked == [str(tmp_path / "x-copy.lgi")]
    assert (tmp_path / "shown.lgi").read_bytes() == source.read_bytes()
