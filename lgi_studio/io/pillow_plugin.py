"""A Pillow plugin: ``import lgi_studio.io.pillow_plugin`` and ``Image.open("x.lgi")`` renders the file at
its native size, so any Python tool that reads pictures with Pillow reads .lgi too.

Rendering runs the kernels (the first open starts the compute backend).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFile

from .lgi_format import SIGNATURE, LgiFormatError, decode_lgi

FORMAT = "LGI"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(SIGNATURE)] == SIGNATURE


class LgiImageFile(ImageFile.ImageFile):
    """Opens .lgi files; the pixels are the Gaussians rendered at the picture's native size."""

    format = FORMAT
    format_description = "LGI Studio Gaussian image"

    def _open(self) -> None:
        data = self.fp.read()
        try:
            self._lgi = decode_lgi(data)
        except LgiFormatError as exc:
            raise SyntaxError(str(exc)) from exc
        header = self._lgi.header
        self._size = (header.width, header.height)
        self._mode = "RGB"
        self.info["gaussians"] = header.count
        self.info["scheme"] = header.scheme
        self.tile = [ImageFile._Tile("lgi", (0, 0, header.width, header.height), 0, None)]

    def load(self):
        if self.tile:
            render = self._lgi.gaussians().render(mode=self._lgi.header.mode)
            pixels = (np.clip(render, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            self.im = Image.fromarray(pixels, "RGB").im
            self.tile = []
        return super().load()


Image.register_open(FORMAT, LgiImageFile, _accept)
Image.register_extension(FORMAT, ".lgi")
Image.register_mime(FORMAT, "image/x-lgi")
