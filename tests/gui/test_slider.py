"""The codebook slider against a result with few Gaussians (issue 16's Xvfb findings): sizes above the count
are never sent, the readout never sticks on "re-quantizing…", and the handle follows the fit's own result.
The fits are test_window's short ones: at most 60 Gaussians, so 16 and 32 are the only sizes allowed."""

from lgi_studio.gui.codebook_stops import codebook_name, own_position, top_position
from lgi_studio.gui.main_window import CODEBOOK_STOPS

from .test_window import TIMEOUT_MS, fit

TOP = CODEBOOK_STOPS.index(32)


def test_the_stops_a_count_allows():
    assert CODEBOOK_STOPS[top_position(600)] == 512  # the Xvfb finding: 4096 after a 600-Gaussian fit
    assert CODEBOOK_STOPS[top_position(4096)] == 4096
    assert top_position(10) == 0
    assert CODEBOOK_STOPS[own_position(600, 1024)] == 512
    assert own_position(5000, None) == 0
    assert codebook_name(512, 600) == "Codebook 512 (the largest for 600 Gaussians)"
    assert codebook_name(256, 600) == "Codebook 256"
    assert codebook_name(4096, 9000) == "Codebook 4096"


def test_after_a_fit_the_handle_rests_on_an_allowed_size(qtbot, window, picture):
    fit(qtbot, window, picture)
    assert window.slider.value() <= TOP


def test_a_size_above_the_count_is_clamped_to_the_largest_allowed(qtbot, window, picture):
    fit(qtbot, window, picture)
    errors = []
    window.errors.show = errors.append
    window.slider.setValue(len(CODEBOOK_STOPS) - 1)
    assert window.slider.value() == TOP
    qtbot.waitUntil(lambda: window.session.current.codebook == 32, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)
    assert errors == []
    count = window.session.current.count  # the fit may have pruned a few of its 60
    assert f"(the largest for {count} Gaussians)" in window.slider_label.text()


def test_the_clamped_size_can_be_chosen_again_after_the_way_back(qtbot, window, picture):
    fit(qtbot, window, picture)
    window.slider.setValue(len(CODEBOOK_STOPS) - 1)
    qtbot.waitUntil(lambda: window.session.current.codebook == 32, timeout=TIMEOUT_MS)
    window.restore_button.click()
    qtbot.waitUntil(lambda: window.session.current.codebook is None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)
    window.slider.setValue(len(CODEBOOK_STOPS) - 1)
    qtbot.waitUntil(lambda: window.session.current.codebook == 32, timeout=TIMEOUT_MS)


def test_the_way_back_puts_the_handle_where_the_fit_left_it(qtbot, window, picture):
    fit(qtbot, window, picture)
    own = window.slider.value()
    window.slider.setValue(CODEBOOK_STOPS.index(16) if own != 0 else TOP)
    qtbot.waitUntil(lambda: window.session.current.codebook is not None, timeout=TIMEOUT_MS)
    window.restore_button.click()
    qtbot.waitUntil(lambda: window.session.current.codebook is None, timeout=TIMEOUT_MS)
    assert window.slider.value() == own
    qtbot.waitUntil(lambda: window.session.current.file is not None, timeout=TIMEOUT_MS)
    assert "fit's own" in window.slider_label.text()


def test_releasing_the_handle_where_it_rests_tries_that_size(qtbot, window, picture):
    fit(qtbot, window, picture)
    window.slider.sliderPressed.emit()
    window.slider.sliderReleased.emit()
    size = CODEBOOK_STOPS[window.slider.value()]
    qtbot.waitUntil(lambda: window.session.current.codebook == size, timeout=TIMEOUT_MS)


def test_a_refused_size_does_not_leave_the_readout_re_quantizing(qtbot, window, picture):
    fit(qtbot, window, picture)
    errors = []
    window.errors.show = errors.append
    window.slider_label.setText("Codebook 4096: re-quantizing…")
    window.engine.send("requantize", {"size": 4096})
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
    assert "re-quantizing" not in window.slider_label.text()
