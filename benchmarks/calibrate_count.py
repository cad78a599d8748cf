"""Calibrate the adaptive-count rule ``count = pixels * density * (1 + entropy_factor * entropy)`` on Kodak.

For each picture: fit at a few Gaussian counts with one preset, interpolate (in log count) the count that
reaches the target PSNR, then least-squares fit ``density`` and ``entropy_factor`` to those counts.
Run: ``python benchmarks/calibrate_count.py`` (8 pictures x 3 counts, ~15 min on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from report import print_table

from lgi_kernels import ensure_backend
from lgi_studio.core.count import DENSITY, ENTROPY_FACTOR, adaptive_count, residual_entropy
from lgi_studio.core.fit import FitConfig, run_fit
from lgi_studio.io.images import load_image

IMAGES = ["kodim01", "kodim03", "kodim05", "kodim08", "kodim13", "kodim15", "kodim20", "kodim23"]


def needed_count(counts: list[int], psnrs: list[float], target: float) -> float:
    """Count at which PSNR reaches ``target``, interpolating/extrapolating linearly in log(count)."""
    logs = np.log(counts)
    slope, intercept = np.polyfit(logs, psnrs, 1)
    return float(np.exp((target - intercept) / slope))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=float, default=30.0, help="PSNR the chosen count should reach (dB)")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--counts", type=int, nargs="*", default=[1500, 4000, 10000])
    parser.add_argument("--images", nargs="*", default=IMAGES)
    args = parser.parse_args()
    ensure_backend()
    rows, entropies, needed, pixels = [], [], [], []
    for path in kodak_images(False, args.images):
        image = load_image(path)
        entropy = residual_entropy(image)
        psnrs = [run_fit(image, FitConfig(count=n, preset=args.preset)).psnr for n in args.counts]
        n_star = needed_count(args.counts, psnrs, args.target)
        entropies.append(entropy)
        needed.append(n_star)
        pixels.append(image.shape[0] * image.shape[1])
        rows.append(
            {
                "image": path.stem,
                "entropy bits": f"{entropy:.2f}",
                **{f"PSNR @{n}": f"{p:.2f}" for n, p in zip(args.counts, psnrs, strict=True)},
                f"N for {args.target:g} dB": f"{n_star:.0f}",
                "rule (current)": str(adaptive_count(image)),
            }
        )
        print(" | ".join(rows[-1].values()), file=sys.stderr, flush=True)
    # density stays anchored on the flat picture (a few hundred Gaussians at most); fit the factor in log
    # space, so that a picture needing 1,000 and one needing 100,000 weigh alike
    e = np.array(entropies)
    base = np.array(pixels) * DENSITY
    grid = np.linspace(0.5, 200.0, 4000)
    errors = [np.sum((np.log(base * (1.0 + f * e)) - np.log(needed)) ** 2) for f in grid]
    factor = float(grid[int(np.argmin(errors))])
    print_table(rows, f"Gaussians needed for {args.target:g} dB with the {args.preset} preset")
    print(f"\nlog least squares with density {DENSITY:.1e}: entropy_factor = {factor:.1f} (in use: {ENTROPY_FACTOR})")


if __name__ == "__main__":
    main()
