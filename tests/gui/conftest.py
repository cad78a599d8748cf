"""Fixtures the window tests share."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def picture(tmp_path):
    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)
    rgb[10:20, 10:30] = [250, 40, 40]
    path = tmp_path / "pic.png"
    Image.fromarray(rgb).save(path)
    return path
