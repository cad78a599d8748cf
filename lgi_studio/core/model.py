"""The Gaussian set: parameter arrays, their invariants, and rendering them at any size.

Coordinates are normalized: the picture is [0, 1] x [0, 1] whatever its pixel size, so the same Gaussians
render at any resolution. ``native_size`` remembers the size they were fitted at; the covariance floor is
defined in native pixels and scaled with the zoom, so a 2x render is the same picture, only sharper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgi_kernels import RasterSettings, RenderMode, Viewport, floor_for_zoom, rasterize_forward

COV_FLOOR_PX2 = 0.25
"""Covariance floor in native pixels squared (sigma >= 0.5 px): keeps covariances positive definite."""

PARAMETERS = ("means", "chol", "colors", "opacities")


@dataclass
class Gaussians:
    """N coloured 2D Gaussians in normalized image coordinates.

    Attributes
    ----------
    means : [N, 2] float32, centres; (0, 0) is the top-left corner of the picture, (1, 1) the bottom-right
    chol : [N, 3] float32, Cholesky factors (l11, l21, l22) of the normalized covariance
    colors : [N, 3] float32, RGB; unbounded (the sum render needs negative values)
    opacities : [N] float32 in [0, 1], used by alpha compositing only
    native_size : (width, height) in pixels the set was fitted at
    """

    means: np.ndarray
    chol: np.ndarray
    colors: np.ndarray
    opacities: np.ndarray
    native_size: tuple[int, int]

    def __post_init__(self) -> None:
        n = len(self.means)
        shapes = {"means": (n, 2), "chol": (n, 3), "colors": (n, 3), "opacities": (n,)}
        for name, shape in shapes.items():
            value = np.ascontiguousarray(getattr(self, name), dtype=np.float32)
            if value.shape != shape:
                msg = f"{name} must have shape {shape}, got {value.shape}"
                raise ValueError(msg)
            setattr(self, name, value)
        width, height = self.native_size
        if width < 1 or height < 1:
            msg = f"native_size must be positive, got {self.native_size}"
            raise ValueError(msg)
        self.native_size = (int(width), int(height))

    def __len__(self) -> int:
        return len(self.means)

    def copy(self) -> Gaussians:
        return Gaussians(*(getattr(self, p).copy() for p in PARAMETERS), native_size=self.native_size)

    def take(self, index: np.ndarray) -> Gaussians:
        """The Gaussians selected by an index or boolean mask, in that order."""
        return Gaussians(*(getattr(self, p)[index] for p in PARAMETERS), native_size=self.native_size)

    def extended(self, other: Gaussians) -> Gaussians:
        """This set followed by ``other`` (alpha compositing draws later ones behind)."""
        return Gaussians(
            *(np.concatenate([getattr(self, p), getattr(other, p)]) for p in PARAMETERS),
            native_size=self.native_size,
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The parameters in the order the kernels take them."""
        return self.means, self.chol, self.colors, self.opacities

    def sigmas_px(self) -> np.ndarray:
        """Standard deviations along x and y in native pixels, ``[N, 2]`` (without the floor)."""
        width, height = self.native_size
        sx = np.abs(self.chol[:, 0]) * width
        sy = np.hypot(self.chol[:, 1], self.chol[:, 2]) * height
        return np.stack([sx, sy], axis=1)

    def raster_settings(
        self,
        width: int | None = None,
        height: int | None = None,
        mode: RenderMode = RenderMode.ACCUMULATED_SUM,
        viewport: Viewport | None = None,
    ) -> RasterSettings:
        """Settings that render these Gaussians at ``width`` x ``height`` (native size by default)."""
        vp = viewport or Viewport()
        width = width or self.native_size[0]
        height = height or self.native_size[1]
        zoom_x = width / ((vp.x1 - vp.x0) * self.native_size[0])
        zoom_y = height / ((vp.y1 - vp.y0) * self.native_size[1])
        floor = floor_for_zoom(COV_FLOOR_PX2, float(np.sqrt(zoom_x * zoom_y)))
        return RasterSettings(width, height, viewport=vp, mode=mode, cov_floor=floor)

    def render(
        self,
        width: int | None = None,
        height: int | None = None,
        mode: RenderMode = RenderMode.ACCUMULATED_SUM,
        viewport: Viewport | None = None,
    ) -> np.ndarray:
        """Render ``[H, W, 3]`` float32 (unclipped) at any size and viewport."""
        image, _ = rasterize_forward(*self.arrays(), self.raster_settings(width, height, mode, viewport))
        return image
