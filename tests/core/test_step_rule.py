"""Quantization steps that follow the operating point, and files that record them."""

import numpy as np
import pytest

from lgi_kernels import RenderMode
from lgi_studio.core.fit import FitConfig, quantize_for_file
from lgi_studio.core.schemes import LgiScalarColourScheme, LgiSteps, scheme_of
from lgi_studio.core.step_rule import (
    COLOUR_STEP_RANGE,
    MAX_POSITION_CELLS,
    colour_step,
    operating_steps,
    position_step,
)
from lgi_studio.io.lgi_format import decode_lgi, encode_lgi
from tests.core.test_refit import scene
from tests.io.test_lgi_format import rows


def test_positions_get_finer_as_the_gaussians_get_denser_and_stay_recordable():
    steps = [position_step(n, 768, 512) for n in (10, 300, 700, 3000, 7000, 50000, 10**7)]
    assert steps == sorted(steps, reverse=True)
    assert steps[0] == 1.0
    assert steps[-1] == 1.0 / MAX_POSITION_CELLS
    assert all(float(1.0 / s).is_integer() for s in steps)  # the header stores 1/k
    assert position_step(3000, 768, 512) == 0.25  # the fixed default at the count it was chosen for


def test_colour_step_follows_the_residual_within_its_range():
    values = [colour_step(r, 3000, 768, 512) for r in (0.0, 0.01, 0.02, 0.05, 1.0)]
    assert values == sorted(values)
    assert colour_step(0.02, 700, 768, 512) > colour_step(0.02, 7000, 768, 512)  # bigger Gaussians, coarser
    assert values[0] == COLOUR_STEP_RANGE[0]
    assert values[-1] == COLOUR_STEP_RANGE[1]


def test_auto_steps_reach_the_file_and_decode_exactly():
    g, image = scene(60)
    mode = RenderMode.ACCUMULATED_SUM
    q = quantize_for_file(g, image, mode, "lgi-sq", None)
    fixed = quantize_for_file(g, image, mode, "lgi-sq", None, quant_steps="fixed")
    assert q.state["steps"] == operating_steps(60, 24, 16)
    assert q.state["steps"].position_px == position_step(60, 24, 16)
    assert q.state["steps"] != fixed.state["steps"] == LgiSteps()
    assert float(fixed.state["step"]) == pytest.approx(LgiScalarColourScheme.COLOR_STEP)
    residual = g.render() - image
    rms = float(np.sqrt(np.mean(residual**2)))
    assert float(q.state["step"]) == pytest.approx(colour_step(rms, 60, 24, 16))
    f = decode_lgi(encode_lgi(q))
    assert f.header.steps == q.state["steps"]
    np.testing.assert_array_equal(rows(f.gaussians()), rows(scheme_of(q).dequantize(q)))  # file order differs


def test_an_unknown_step_rule_is_refused():
    with pytest.raises(ValueError, match="quant_steps must be one of"):
        FitConfig(quant_steps="fine")
