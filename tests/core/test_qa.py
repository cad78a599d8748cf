"""lgi-sq's quantization-aware training against post-hoc quantization of the same fit, in real file bytes."""

import math

import numpy as np

from lgi_studio.core.fit import FitConfig, quantize_for_file, run_fit
from lgi_studio.core.metrics import psnr_8bit
from lgi_studio.core.schemes import scheme_of
from lgi_studio.io.lgi_format import decode_lgi, encode_lgi
from tests.core.test_fit import synthetic

SLOPE_DB_PER_LN_RATE = 3.0
"""The Kodak curve's slope (docs/rate-distortion.md): converts a small rate difference into decibels."""


def file_point(quantized, image) -> tuple[int, float]:
    """Bytes of the .lgi and PSNR of the picture decoded from them."""
    data = encode_lgi(quantized)
    return len(data), psnr_8bit(decode_lgi(data).gaussians().render(), image)


def test_qa_file_is_never_worse_than_posthoc_at_fast_preset():
    """The issue's case in small: `-q fast`, seeded; PSNR compared at equal bytes (the curve's slope)."""
    image = synthetic(seed=3)
    plain = run_fit(image, FitConfig(count=120, preset="fast"))
    posthoc_bytes, posthoc_psnr = file_point(quantize_for_file(plain.gaussians, image, plain.config.mode, "lgi-sq", None), image)
    qa = run_fit(image, FitConfig(count=120, preset="fast", qa_training=True))
    qa_bytes, qa_psnr = file_point(qa.final_quantized(image), image)
    at_equal_bytes = qa_psnr - SLOPE_DB_PER_LN_RATE * math.log(qa_bytes / posthoc_bytes)
    assert at_equal_bytes >= posthoc_psnr - 1e-9
