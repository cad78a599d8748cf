"""A Pillow plugin: ``import lgi_studio.io.pillow_plugin`` and ``Image.open("x.lgi")`` reads .lgi files, so any
Python tool that reads pictures with Pillow reads them too.

It works the way Pillow's own plugins do (``QoiImagePlugin``): ``Image.open`` reads and validates the
signature and header only (size, mode "RGB"); ``load()`` reads the file, at most ``MAX_FILE`` bytes, validates
all of it and renders the Gaussians. ``Image.draft`` (hence ``thumbnail``) makes ``load()`` render small
directly from the Gaussians instead of rendering at full size and shrinking. Every problem, in ``open`` or in
``load``, raises ``LgiFormatError``; a render beyond ``render_limits`` raises its subclass ``RenderLimitError``
before Pillow allocates the picture. Rendering runs the kernels (the first load starts the compute backend).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFile

from .errors import LgiFormatError, RenderLimitError
from .lgi_format import HEADER_BYTES, MAX_FILE, SIGNATURE, decode_header, decode_lgi
from .render_limits import MAX_RENDER_PIXELS

FORMAT = "LGI"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(SIGNATURE)] == SIGNATURE


class LgiImageFile(ImageFile.ImageFile):
    """Opens .lgi files; the pixels are the Gaussians rendered at the picture's size (or a draft size)."""

    format = FORMAT
    format_description = "LGI Studio Gaussian image"

    def _open(self) -> None:
        header = decode_header(self.fp.read(HEADER_BYTES))
        self._size = (header.width, header.height)
        if isinstance(getattr(type(self), "mode", None), property):
            self._mode = "RGB"  # Pillow >= 10.1: a read-only property over _mode
        else:
            self.mode = "RGB"  # Pillow 10.0: a plain attribute
        self.info["gaussians"] = header.count
        self.info["scheme"] = header.scheme
        self.tile = [("lgi", (0, 0, *self._size), 0, None)]

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, int, int]] | None:
        """Render at the smallest size, keeping the aspect, that still covers ``size`` (never larger than the
        picture): Gaussians render at any size, so a thumbnail costs the thumbnail's pixels only."""
        if not size or not self.tile:  # no tile: already loaded
            return None
        width, height = self.size
        scale = min(1.0, max(size[0] / width, size[1] / height))
        self._size = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
        self.tile = [("lgi", (0, 0, *self._size), 0, None)]
        return self.mode, (0, 0, *self._size)

    def load(self):
        if self.tile and self.size[0] * self.size[1] > MAX_RENDER_PIXELS:
            # before Pillow allocates the picture; Image.thumbnail or Image.draft render small instead
            width, height = self.size
            msg = f"a {width}x{height} render is more than the {MAX_RENDER_PIXELS / 1e6:.1f} MP limit"
            raise RenderLimitError(msg)
        return super().load()


class LgiDecoder(ImageFile.PyDecoder):
    """Reads the whole file (bounded), validates it and renders it at the tile's size."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        assert self.fd is not None
        self.fd.seek(0)
        data = self.fd.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            msg = f"the file is larger than the {MAX_FILE} bytes we read"
            raise LgiFormatError(msg)
        render = decode_lgi(data).render(self.state.xsize, self.state.ysize)
        pixels = (np.clip(render, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        self.set_as_raw(pixels.tobytes(), "RGB")
        return -1, 0


Image.register_open(FORMAT, LgiImageFile, _accept)
Image.register_decoder("lgi", LgiDecoder)
Image.register_extension(FORMAT, ".lgi")
Image.register_mime(FORMAT, "image/x-lgi")
