"""Sizes a designer reads side by side: the original file (and as PNG) against the .lgi, in KB."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .session import Result

KB = 1000
"""Kilobytes of 1000 bytes, as macOS, Squoosh and the .lgi docs count them."""


@dataclass(frozen=True)
class FileSize:
    """The .lgi Export writes now: its bytes, bits per pixel, PSNR of its decoded render, its scheme."""

    bytes: int
    bpp: float
    psnr: float | None  # None: an opened .lgi with no picture to compare it with
    scheme: str


@dataclass(frozen=True)
class Picture:
    """The opened picture: where it is, how big, its file's bytes and (for non-PNG files, once measured)
    as a PNG."""

    path: Path
    pixels: np.ndarray  # [H, W, 3] uint8
    file_bytes: int
    png_bytes: int | None = None

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @classmethod
    def load(cls, path: str | Path) -> Picture:
        """Read with Pillow (no kernels); raises the io layer's ImageReadError on a bad file."""

        from lgi_studio.io.images import load_image, to_uint8

        path = Path(path)
        pixels = to_uint8(load_image(path))
        size = path.stat().st_size
        return cls(path, pixels, size, size if path.suffix.lower() == ".png" else None)

    def png_size(self) -> int:
        """The bytes of this picture as a PNG (Pillow's default level): 0.3-1 s for a photo, so the window
        runs it off the GUI thread (zlib lets go of the GIL while it compresses)."""
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(self.pixels).save(buffer, format="PNG")
        return len(buffer.getvalue())


def kb(size: int) -> str:
    return f"{size / KB:,.1f} KB"


def size_readout(picture: Picture | None, result: Result | None, busy: bool = False) -> str:
    """One line: original -> .lgi bytes, how many times smaller, bpp, PSNR (what Export .lgi writes)."""
    if picture is None:
        return ""
    original = f"{picture.path.name} {kb(picture.file_bytes)}"
    if picture.path.suffix.lower() != ".png" and picture.png_bytes is not None:
        original += f" (as PNG {kb(picture.png_bytes)})"
    if result is None:
        return f"{original} → .lgi: fitting…" if busy else f"{original}. Fit it to see the .lgi size."
    if result.file is None:
        return f"{original} → .lgi: measuring…"
    f = result.file
    ratio = picture.file_bytes / f.bytes
    return f"{original} → .lgi {kb(f.bytes)} · {ratio:.1f}x smaller · {f.bpp:.3f} bpp · PSNR {f.psnr:.2f} dB"


def frame_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of two uint8 frames of one size, as ``core.metrics.psnr_8bit`` counts it (not imported:
    it brings scipy into the window's process)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * float(np.log10(255.0**2 / mse))
