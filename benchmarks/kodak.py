"""Where the Kodak pictures are, for the benchmarks that run on them."""

from __future__ import annotations

import os
from pathlib import Path

KODAK = Path(os.environ.get("LGI_KODAK", Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "kodak"))
QUICK = ("kodim03", "kodim08", "kodim23")
"""An easy, a hard and a typical picture."""


def kodak_images(quick: bool, names: list[str] | None = None) -> list[Path]:
    """The Kodak PNGs to run on; a clear error when the dataset is not where we expect it."""
    if not KODAK.is_dir():
        msg = f"Kodak images not found in {KODAK}; set LGI_KODAK to the folder holding kodim01.png ..."
        raise SystemExit(msg)
    chosen = names or (list(QUICK) if quick else sorted(p.stem for p in KODAK.glob("kodim*.png")))
    return [KODAK / f"{name}.png" for name in chosen]
