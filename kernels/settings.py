"""What a render is asked to produce: mode, output size, viewport and cut-offs.

Kept free of Taichi so that the NumPy reference and callers can use it without starting a backend.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

TILE = 16
"""Tile edge in pixels of alpha compositing, whose per-row registers are TILE pixels wide."""

SUM_TILE = (64, 32)
"""Default tile shape (width, height) of the accumulated sum. A Gaussian crossing k tile columns sets up
each of its rows k times: wider tiles cut those set-ups and the (tile, Gaussian) pairs (docs/kernels.md)."""

MAX_TILE = (64, 256)
"""Largest tile (width, height): a row's G is stepped by recurrence across the tile, and its rounding drift
grows with the square of the span (64 pixels: a tenth of the forward tolerance on 80-pixel Gaussians)."""

ALPHA_MAX = 0.99
"""Alpha is clamped below 1 so that transmittance can be divided back out in the backward pass."""

ALPHA_MIN = 1.0 / 255.0
"""Alpha contributions below one 8-bit step are skipped (as GaussianImage and 3DGS do)."""

T_MIN = 1e-4
"""Front-to-back compositing stops before transmittance would fall below this."""


class RenderMode(enum.Enum):
    """How overlapping Gaussians combine into a pixel."""

    ACCUMULATED_SUM = "sum"
    """pixel = sum(colour * G): order-free, GaussianImage's choice."""
    ALPHA = "alpha"
    """Front-to-back compositing in stored order with alpha = opacity * G."""

    @classmethod
    def parse(cls, name: str | RenderMode) -> RenderMode:
        """Accept an enum member or its short name ("sum" / "alpha")."""
        if isinstance(name, RenderMode):
            return name
        for mode in cls:
            if name.lower() in (mode.value, mode.name.lower()):
                return mode
        msg = f"unknown render mode {name!r}: use 'sum' or 'alpha'"
        raise ValueError(msg)


@dataclass(frozen=True)
class Viewport:
    """A rectangle of the normalized image plane, where the full image is [0, 1] x [0, 1]."""

    x0: float = 0.0
    y0: float = 0.0
    x1: float = 1.0
    y1: float = 1.0

    def __post_init__(self) -> None:
        values = (self.x0, self.y0, self.x1, self.y1)
        if not all(math.isfinite(v) for v in values) or self.x1 <= self.x0 or self.y1 <= self.y0:
            msg = f"viewport must be finite with x1 > x0 and y1 > y0, got {values}"
            raise ValueError(msg)


@dataclass(frozen=True)
class RasterSettings:
    """Everything besides the Gaussians that decides the rendered pixels.

    ``cov_floor`` is added to the diagonal of each covariance *in output pixels squared*: it keeps the
    covariance positive definite and acts as a small low-pass filter. Callers that want a floor fixed in
    source pixels scale it by the zoom squared (see ``lgi_kernels.floor_for_zoom``).
    """

    width: int
    height: int
    viewport: Viewport = Viewport()
    mode: RenderMode = RenderMode.ACCUMULATED_SUM
    cutoff_sigma: float = 3.0
    cov_floor: float = 0.25
    tile_shape: tuple[int, int] | None = None
    """Tile (width, height) in pixels; None for the mode's default (SUM_TILE, or TILE x TILE in alpha)."""

    def __post_init__(self) -> None:
        if not (isinstance(self.width, int) and isinstance(self.height, int)):
            msg = "width and height must be integers"
            raise TypeError(msg)
        if not (1 <= self.width <= 32768 and 1 <= self.height <= 32768):
            msg = f"output size {self.width}x{self.height} is outside 1..32768 pixels per side"
            raise ValueError(msg)
        if not (0.5 <= self.cutoff_sigma <= 8.0):
            msg = f"cutoff_sigma must be in [0.5, 8], got {self.cutoff_sigma}"
            raise ValueError(msg)
        if not (self.cov_floor > 0.0 and math.isfinite(self.cov_floor)):
            msg = f"cov_floor must be a positive number of pixels squared, got {self.cov_floor}"
            raise ValueError(msg)
        self._check_tile_shape()

    def _check_tile_shape(self) -> None:
        if self.tile_shape is None:
            return
        shape = tuple(self.tile_shape)
        if not (len(shape) == 2 and all(isinstance(e, int) for e in shape)) or not (
            1 <= shape[0] <= MAX_TILE[0] and 1 <= shape[1] <= MAX_TILE[1]
        ):
            msg = f"tile_shape must be a width in 1..{MAX_TILE[0]} and a height in 1..{MAX_TILE[1]}, got {shape}"
            raise ValueError(msg)
        object.__setattr__(self, "tile_shape", shape)  # a list would make the settings unhashable
        tw = shape[0]
        if self.mode is RenderMode.ALPHA and tw > TILE:
            msg = f"alpha compositing needs tiles at most {TILE} pixels wide, got {self.tile_shape}"
            raise ValueError(msg)

    @property
    def tile(self) -> tuple[int, int]:
        """Tile (width, height) in pixels."""
        if self.tile_shape is not None:
            return self.tile_shape
        return SUM_TILE if self.mode is RenderMode.ACCUMULATED_SUM else (TILE, TILE)

    @property
    def scale(self) -> tuple[float, float]:
        """Output pixels per normalized unit along x and y."""
        vp = self.viewport
        return self.width / (vp.x1 - vp.x0), self.height / (vp.y1 - vp.y0)

    @property
    def tiles(self) -> tuple[int, int]:
        """Number of tiles along x and y."""
        tw, th = self.tile
        return -(-self.width // tw), -(-self.height // th)


def floor_for_zoom(floor_source_px2: float, zoom: float) -> float:
    """Convert a covariance floor given in source pixels² to output pixels² at ``zoom`` output px per source px."""
    return floor_source_px2 * zoom * zoom
