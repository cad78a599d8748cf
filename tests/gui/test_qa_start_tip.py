""" "QA starts at" says what it means for the chosen scheme: lgi-sq's staged QA tunes the finished float fit
for ``1 - qa_start`` of its iterations more; the other schemes' QA replaces the end of the fit."""

import pytest

from lgi_studio.core.fit import FitConfig
from lgi_studio.core.scheme_names import SCHEMES
from lgi_studio.core.schemes import get_scheme
from lgi_studio.gui.session import Session
from lgi_studio.gui.settings_panel import STAGED_QA, SettingsPanel


def test_the_staged_schemes_are_the_engines():
    assert {name for name in SCHEMES if get_scheme(name).staged_qa} == STAGED_QA


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_tip_gives_the_engines_iterations(qtbot, scheme):
    panel = SettingsPanel(Session())
    qtbot.addWidget(panel)
    panel.preset.setCurrentText("fast")
    panel.scheme.setCurrentText(scheme)
    panel.qa_start.setValue(0.7)
    tip = panel.qa_start.toolTip()
    cfg = FitConfig(preset="fast", qa_training=True, qa_start=0.7, scheme=scheme)
    assert scheme in tip
    if scheme in STAGED_QA:
        assert f"{cfg.total_iterations} iterations" in tip
        assert f"QA marked at {cfg.qa_start_iteration}" in tip
    else:
        assert f"from iteration {cfg.qa_start_iteration} of {cfg.total_iterations}" in tip


def test_the_tip_follows_the_session_iterations(qtbot):
    session = Session()
    panel = SettingsPanel(session)
    qtbot.addWidget(panel)
    session.set_settings(iterations=150, qa_start=0.5)
    assert "225 iterations" in panel.qa_start.toolTip()
