"""Comparing encodings of one picture at equal rate: which of two files an encoder should keep.

Two candidate files rarely have exactly the same size, so "better" means better PSNR at the same bytes. Near a
point the rate-distortion curve is a straight line in log-rate; its slope converts a small size difference
into decibels. Measured on the Kodak benchmark's mean ``lgi-sq-auto`` curve (docs/rate-distortion.md):
2.8 dB per unit of ln(bpp) between 0.15 and 0.25 bpp, 3.1 between 0.25 and 0.35, 3.4 between 0.35 and 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import psnr_8bit
from .schemes import Quantized, scheme_of

SLOPE_DB_PER_LN_RATE = 3.0
"""dB gained per unit of ln(bytes) along our Kodak curve at 0.15-0.5 bpp (the module docstring)."""


@dataclass(frozen=True)
class Candidate:
    """One way to store the picture: its symbols, payload bytes and the PSNR of what a decoder renders."""

    quantized: Quantized
    bytes: int
    psnr: float


def evaluate(quantized: Quantized, image: np.ndarray) -> Candidate:
    """Bytes of the scheme's payload (the container adds the same few bytes to every candidate) and the PSNR
    of the decoded render against ``image``."""
    scheme = scheme_of(quantized)
    render = scheme.dequantize(quantized).render(mode=quantized.mode)
    return Candidate(quantized, len(scheme.pack(quantized)), psnr_8bit(render, image))


def psnr_at_rate(psnr: float, nbytes: int, reference_bytes: int, slope: float = SLOPE_DB_PER_LN_RATE) -> float:
    """``psnr`` moved along the local curve to the rate of ``reference_bytes``: a file 1% larger must be
    about 0.03 dB better to count as better."""
    return psnr - slope * math.log(max(nbytes, 1) / max(reference_bytes, 1))


def best(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate with the best PSNR at the first one's rate; the first wins ties (the safe default)."""
    reference = candidates[0].bytes
    scores = [psnr_at_rate(c.psnr, c.bytes, reference) for c in candidates]
    return candidates[int(np.argmax(scores))]
