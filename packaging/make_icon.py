"""Draw the app icon: a few coloured, overlapping 2D Gaussians on a dark tile.

Writes ``lgi_studio/resources/lgi-studio.svg`` (the source) and renders it with Qt's SVG renderer to
``lgi-studio-{256,128,48}.png`` beside it. Run it again after changing ``BLOBS``; the output is committed.

    .venv/bin/python packaging/make_icon.py
"""

from __future__ import annotations

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


def render_pngs(svg_path: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs one alive
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        msg = f"Qt cannot read {svg_path}"
        raise RuntimeError(msg)
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = svg_path.with_name(f"{svg_path.stem}-{size}.png")
        if not image.save(str(path)):
            msg = f"cannot write {path}"
            raise OSError(msg)
        written.append(path)
    return written


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    svg_path = OUT / "lgi-studio.svg"
    svg_path.write_text(icon_svg(), encoding="utf-8")
    for path in [svg_path, *render_pngs(svg_path)]:
        print(f"{path.relative_to(OUT.parent.parent)}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
