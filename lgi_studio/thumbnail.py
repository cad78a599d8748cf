"""``lgi thumbnail IN OUT SIZE``: what file managers run to show a ``.lgi`` file as a picture.

The freedesktop thumbnailer spec calls ``Exec=lgi thumbnail %i %o %s`` (resources/lgi-studio.thumbnailer,
installed to share/thumbnailers/ by packaging/linux/install.sh and the .deb): a PNG no larger than SIZE
on its longer side, rendered straight from the Gaussians at that size (no full-size render to shrink).
Any failure exits non-zero with one line, and the file manager shows its generic icon.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAX_THUMBNAIL = 2048
"""Largest SIZE we render: file managers ask for 128 to 1024."""


def thumbnail_size(width: int, height: int, size: int) -> tuple[int, int]:
    """The picture's size scaled to fit in ``size`` x ``size`` (never enlarged), at least 1 px a side."""
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def add_thumbnail_parser(commands: argparse._SubParsersAction) -> None:
    thumbnail = commands.add_parser("thumbnail", help="render a .lgi file as a PNG thumbnail (for file managers)")
    thumbnail.add_argument("input", help=".lgi file")
    thumbnail.add_argument("output", help="PNG to write")
    thumbnail.add_argument("size", type=int, help="longest side in pixels")
    thumbnail.add_argument("--backend", default=None, help="compute backend (default auto; also $LGI_BACKEND)")
    thumbnail.set_defaults(run=run_thumbnail_command)


def run_thumbnail_command(args: argparse.Namespace) -> int:
    """Render ``args.input`` into ``args.output``; problems are one ``CliError`` line (exit 2)."""
    from lgi_studio import codec
    from lgi_studio.cli import CliError
    from lgi_studio.io.lgi_format import LgiFormatError

    if not 1 <= args.size <= MAX_THUMBNAIL:
        raise CliError(f"thumbnail size must be 1..{MAX_THUMBNAIL} pixels, got {args.size}")
    try:
        info = codec.read_info(Path(args.input))
        width, height = thumbnail_size(info["width"], info["height"], args.size)
        codec.start_backend(args.backend)
        pixels = codec.decode(Path(args.input), width=width, height=height)
    except LgiFormatError as exc:
        raise CliError(str(exc)) from exc
    _write_png(args.output, pixels)
    return 0


def _write_png(path: str, pixels: np.ndarray) -> None:
    """PNG whatever the name says: thumbnailers may be handed a temporary name without a picture suffix."""
    from PIL import Image

    from lgi_studio.io.atomic import atomic_writer

    with atomic_writer(path) as handle:
        Image.fromarray(pixels, "RGB").save(handle, format="PNG")
