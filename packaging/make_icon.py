"""Draw the app icon: a few coloured, overlapping 2D Gaussians on a dark tile.

Writes ``lgi_studio/resources/lgi-studio.svg`` (the source) and renders it with Qt's SVG renderer to
``lgi-studio-{256,128,48}.png`` beside it. Run it again after changing ``BLOBS``; the output is committed.
The macOS and Windows builds ask it for their icon formats (``--iconset``, ``--ico``).

    .venv/bin/python packaging/make_icon.py
    .venv/bin/python packaging/make_icon.py --iconset build/lgi-studio.iconset   # then: iconutil -c icns ...
    .venv/bin/python packaging/make_icon.py --ico build/pyinstaller/lgi-studio.ico
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "lgi_studio" / "resources"
SIZES = (256, 128, 48)
TILE = "#1b2030"
BLOBS = [  # centre x, centre y, radius x, radius y (px of 256), rotation (degrees), colour, peak opacity
    (100, 100, 84, 50, 35, "#27c4f5", 1.0),
    (164, 94, 66, 42, -40, "#ff4f9a", 1.0),
    (152, 162, 80, 46, 20, "#ffd23f", 1.0),
    (92, 166, 58, 36, -55, "#7c5cff", 1.0),
    (128, 128, 36, 24, 70, "#ffffff", 0.6),
]
STOPS = 9
_APP: list = []


def gaussian_stops(colour: str, peak: float) -> str:
    """Gradient stops whose opacity falls off as exp(-r^2 / 2 sigma^2), sigma half the radius."""
    lines = []
    for i in range(STOPS):
        t = i / (STOPS - 1)
        opacity = peak * math.exp(-2.0 * t * t) * (1.0 - t**6)  # reaches exactly 0 at the rim
        lines.append(f'      <stop offset="{t:.3f}" stop-color="{colour}" stop-opacity="{opacity:.3f}"/>')
    return "\n".join(lines)


def icon_svg() -> str:
    gradients, shapes = [], []
    for i, (cx, cy, rx, ry, angle, colour, peak) in enumerate(BLOBS):
        gradients.append(f'    <radialGradient id="g{i}">\n{gaussian_stops(colour, peak)}\n    </radialGradient>')
        shapes.append(
            f'  <ellipse cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}" transform="rotate({angle} {cx} {cy})" '
            f'fill="url(#g{i})"/>'
        )
    return "\n".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny" width="256" height="256" '
            'viewBox="0 0 256 256">',
            "  <title>LGI Studio</title>",
            "  <defs>",
            *gradients,
            "  </defs>",
            f'  <rect x="8" y="8" width="240" height="240" rx="48" ry="48" fill="{TILE}"/>',
            *shapes,
            "</svg>",
            "",
        ]
    )


def render(svg_path: Path, sizes: list[int]) -> dict[int, object]:
    """The SVG drawn at each size, as QImages."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _APP.append(QGuiApplication.instance() or QGuiApplication(sys.argv[:1]))  # alive while Qt paints
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        msg = f"Qt cannot read {svg_path}"
        raise RuntimeError(msg)
    images = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        images[size] = image
    return images


def save(image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        msg = f"cannot write {path}"
        raise OSError(msg)
    return path


def write_iconset(svg_path: Path, folder: Path) -> list[Path]:
    """A macOS .iconset folder (16 to 512 points, 1x and 2x) for ``iconutil -c icns``."""
    images = render(svg_path, [16, 32, 64, 128, 256, 512, 1024])
    written = []
    for points in (16, 32, 128, 256, 512):
        written.append(save(images[points], folder / f"icon_{points}x{points}.png"))
        written.append(save(images[2 * points], folder / f"icon_{points}x{points}@2x.png"))
    return written


def write_ico(svg_path: Path, path: Path) -> list[Path]:
    """A Windows .ico with the sizes Explorer and the taskbar use (Pillow packs the PNGs)."""
    import io

    from PIL import Image

    sizes = [16, 24, 32, 48, 64, 128, 256]
    pictures = [Image.open(io.BytesIO(png_bytes(image))).convert("RGBA") for image in render(svg_path, sizes).values()]
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[-1].save(path, format="ICO", sizes=[(s, s) for s in sizes], append_images=pictures[:-1])
    return [path]


def png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the LGI Studio icon.")
    parser.add_argument("--iconset", type=Path, help="write a macOS .iconset folder here instead")
    parser.add_argument("--ico", type=Path, help="write a Windows .ico file here instead")
    args = parser.parse_args(argv)
    svg_path = OUT / "lgi-studio.svg"
    if args.iconset:
        written = write_iconset(svg_path, args.iconset)
    elif args.ico:
        written = write_ico(svg_path, args.ico)
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        svg_path.write_text(icon_svg(), encoding="utf-8")
        images = render(svg_path, list(SIZES))
        written = [svg_path, *(save(images[size], OUT / f"lgi-studio-{size}.png") for size in SIZES)]
    for path in written:
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
