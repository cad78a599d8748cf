"""Schemes by name: the classes behind ``core.registry``'s entries, and the lgi family built with a file's steps."""

from __future__ import annotations

from ..registry import REGISTRY
from ..scheme_names import SCHEMES
from .base import Quantized, Scheme, SchemeError
from .float32 import Float32Scheme
from .gaussianimage import GaussianImageScheme
from .lgi import LgiScheme, LgiSteps
from .lgi_sq import LgiScalarColourScheme
from .vq import VQScheme

_CLASSES: dict[str, type[Scheme]] = {
    cls.__name__: cls for cls in (LgiScalarColourScheme, LgiScheme, GaussianImageScheme, VQScheme, Float32Scheme)
}


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name`` (one of ``SCHEMES``), built from its ``core.registry`` entry."""
    if name not in REGISTRY:
        msg = f"unknown quantization scheme {name!r}: use one of {', '.join(SCHEMES)}"
        raise SchemeError(msg)
    return _CLASSES[REGISTRY[name].class_name]()


def with_steps(name: str, steps: LgiSteps, color_step: float | None = None) -> Scheme:
    """The scheme called ``name``, with ``steps`` (and ``lgi-sq``'s colour step) where it is one of the lgi
    family."""
    if name == "lgi":
        return LgiScheme(steps)
    if name == "lgi-sq":
        return LgiScalarColourScheme(steps, color_step)
    return get_scheme(name)


def scheme_of(q: Quantized) -> Scheme:
    """The scheme that decodes ``q``: its name's, with the steps ``q`` was quantized with (the lgi family
    records them in its state; files in their header)."""
    return with_steps(q.scheme, q.state["steps"]) if "steps" in q.state else get_scheme(q.scheme)
