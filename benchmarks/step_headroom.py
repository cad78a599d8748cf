"""What per-picture quantizer steps could gain over the operating-point rule (``core.step_rule``): the
headroom that learned steps (LSQ) would have to win.

Each fit is quantized the encoder's way (``quantize_for_file``, pruning included) with the rule's steps and
with one step moved at a time; every variant is a real ``.lgi`` file, scored at equal bytes against the
rule's file along the local curve (``core.rate.psnr_at_rate``, 3 dB per ln(rate)). The best variant of
each point is what an encoder that tried them all, or learned the steps perfectly, would keep.

Run: ``python benchmarks/step_headroom.py`` (docs/rate-distortion.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from qa_vs_baseline import _centre_crop, _file_point
from rd_levers import add_screening_set
from report import print_table

from lgi_kernels import RenderMode, ensure_backend
from lgi_studio.core import step_rule
from lgi_studio.core.fit import FitConfig, quantize_for_file, run_fit
from lgi_studio.core.rate import psnr_at_rate
from lgi_studio.io.images import load_image

VARIANTS = {
    "sizes 1/6 octave": ("LOG2_SIZE_STEP", 1.0 / 6.0),
    "sizes 1/10 octave": ("LOG2_SIZE_STEP", 1.0 / 10.0),
    "angles 36 per aspect": ("ANGLE_PER_ASPECT", 36.0),
    "angles 64 per aspect": ("ANGLE_PER_ASPECT", 64.0),
    "colour step x0.8": ("COLOUR_STEP_PER_RMS_PX", 0.8 * step_rule.COLOUR_STEP_PER_RMS_PX),
    "colour step x1.25": ("COLOUR_STEP_PER_RMS_PX", 1.25 * step_rule.COLOUR_STEP_PER_RMS_PX),
    "positions x1.25 finer": ("SPACING_PER_POSITION_STEP", 1.25 * step_rule.SPACING_PER_POSITION_STEP),
    "positions x0.8 coarser": ("SPACING_PER_POSITION_STEP", 0.8 * step_rule.SPACING_PER_POSITION_STEP),
}


def file_with(gaussians, image: np.ndarray, name: str | None, value: float | None) -> tuple[int, float]:
    """(bytes, PSNR) of the encoder's file with one of the rule's constants set to ``value``."""
    old = getattr(step_rule, name) if name else None
    if name:
        setattr(step_rule, name, value)
    try:
        quantized = quantize_for_file(gaussians, image, RenderMode.ACCUMULATED_SUM, "lgi-sq", None)
    finally:
        if name:
            setattr(step_rule, name, old)
    return _file_point(quantized, image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_screening_set(parser)
    parser.add_argument("--rate-slope", type=float, default=0.0, help="FitConfig.rate_slope of the fits")
    args = parser.parse_args()
    ensure_backend()
    print(f"N={args.counts}, {args.iterations} iterations, crops {args.crop[0]}x{args.crop[1]}, rate {args.rate_slope}")
    rows, gains = [], {v: [] for v in VARIANTS}
    best = []
    for path in kodak_images(False, args.images):
        image = _centre_crop(load_image(path), args.crop)
        for count in args.counts:
            fitted = run_fit(image, FitConfig(count=count, iterations=args.iterations, rate_slope=args.rate_slope))
            nbytes, psnr = file_with(fitted.gaussians, image, None, None)
            row = {"image": path.stem, "N": str(count), "rule": f"{nbytes} B, {psnr:.2f}"}
            for variant, (name, value) in VARIANTS.items():
                b, p = file_with(fitted.gaussians, image, name, value)
                gains[variant].append(psnr_at_rate(p, b, nbytes) - psnr)
                row[variant] = f"{gains[variant][-1]:+.3f}"
            best.append(max(0.0, *(g[-1] for g in gains.values())))
            rows.append(row)
            print(" | ".join(row.values()), file=sys.stderr, flush=True)
    print_table(rows, "dB at equal bytes against the rule's steps, one step moved")
    summary = [{"variant": v, "mean dB": f"{np.mean(g):+.3f}", "max": f"{max(g):+.3f}"} for v, g in gains.items()]
    summary.append({"variant": "best per point", "mean dB": f"{np.mean(best):+.3f}", "max": f"{max(best):+.3f}"})
    print_table(summary, "Headroom of per-picture steps")


if __name__ == "__main__":
    main()
