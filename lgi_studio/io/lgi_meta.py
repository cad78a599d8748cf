"""The ``meta`` chunk of a .lgi file: strict JSON, parsed without the ways JSON can hurt a reader.

Python's parser recurses per nesting level (deep nesting: ``RecursionError``), turns a 5000-digit integer
into a ``ValueError`` and accepts ``NaN`` (and ``1e999`` as infinity); a reader refuses them all with ``LgiFormatError``
(docs/lgi-format.md, ``meta``).
"""

from __future__ import annotations

import json
import math

import numpy as np

from .errors import LgiFormatError

MAX_META = 1 << 20
MAX_META_DEPTH = 32
MAX_META_DIGITS = 64


def parse_meta(payload: bytes) -> dict:
    """The metadata object of a ``meta`` chunk, or ``LgiFormatError``."""
    if len(payload) > MAX_META:
        msg = "metadata chunk is too large"
        raise LgiFormatError(msg)
    try:
        text = payload.decode("utf-8")
        _check_meta_depth(text)
        value = json.loads(text, parse_int=_meta_int, parse_float=_meta_float, parse_constant=_meta_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"metadata chunk is not valid JSON ({exc})"
        raise LgiFormatError(msg) from None
    if not isinstance(value, dict):
        msg = "metadata chunk must hold a JSON object"
        raise LgiFormatError(msg)
    return value


def _check_meta_depth(text: str) -> None:
    """Refuse nesting deeper than ``MAX_META_DEPTH`` before parsing (Python's parser recurses per level).
    Brackets inside strings count too: an over-estimate only refuses absurd metadata."""
    codes = np.frombuffer(text.encode(), np.uint8)
    steps = np.isin(codes, (0x5B, 0x7B)).astype(np.int32) - np.isin(codes, (0x5D, 0x7D)).astype(np.int32)
    if steps.size and int(np.cumsum(steps).max()) > MAX_META_DEPTH:
        msg = f"nested deeper than {MAX_META_DEPTH} levels"
        raise ValueError(msg)


def _meta_int(digits: str) -> int:
    if len(digits) > MAX_META_DIGITS:
        msg = f"an integer of {len(digits)} digits"
        raise ValueError(msg)
    return int(digits)


def _meta_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        msg = f"{text} does not fit a float"
        raise ValueError(msg)
    return value


def _meta_constant(name: str) -> float:
    msg = f"{name} is not JSON"
    raise ValueError(msg)
