"""Screen the rate-distortion levers one at a time: the same seeded fits, real ``.lgi`` files, PSNR of the
decoded picture, each arm's gain at equal bytes along the baseline's curve through the counts run.

Arms: ``post-hoc`` (the baseline: no QA, no pruning), ``prune`` (post-hoc with ``core.rate``'s pruning),
``qa`` (staged QA tuning with keep-the-better, no pruning), ``qa+prune`` (both: the encoder's QA today),
``rate+prune`` and ``qa+rate+prune`` (the same, fitted with the rate term of ``core.rate_loss``; the summary
also gives their gain over the arm without it, at equal bytes).

Run: ``python benchmarks/rd_levers.py --crop 384x256 -n 400 600 800 --iterations 500`` (docs/rate-distortion.md).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from qa_vs_baseline import _centre_crop, _file_point, _size
from report import print_table

from lgi_kernels import RenderMode, ensure_backend
from lgi_studio.core.fit import FitConfig, quantize_for_file, run_fit
from lgi_studio.io.images import load_image

ARMS = ("post-hoc", "prune", "qa", "qa+prune", "rate+prune", "qa+rate+prune")
WITHOUT_RATE = {"rate+prune": "prune", "qa+rate+prune": "qa+prune"}


def encode(image: np.ndarray, cfg: FitConfig, arm: str, plain) -> tuple[int, float, float]:
    """(bytes, PSNR, seconds) of one arm; the post-hoc arms share ``plain``, the fit without QA. ``cfg``
    sets the count, the iterations and the rate term's settings."""
    prune = arm.endswith("prune")
    start = time.perf_counter()
    if arm.startswith("qa") or "rate" in arm:
        rate = cfg.rate_slope if "rate" in arm else 0.0
        cfg = replace(cfg, qa_training=arm.startswith("qa"), rd_prune=prune, rate_slope=rate)
        quantized = run_fit(image, cfg).final_quantized(image)
        return (*_file_point(quantized, image), time.perf_counter() - start)
    quantized = quantize_for_file(plain.gaussians, image, RenderMode.ACCUMULATED_SUM, "lgi-sq", None, prune=prune)
    return (*_file_point(quantized, image), plain.elapsed + time.perf_counter() - start)


def gain(points: dict, arm: str, count: int) -> float:
    """The arm's PSNR minus the post-hoc curve's at the arm's bytes (log-bytes interpolation, end slopes)."""
    curve = sorted((math.log(b), p) for (a, _), (b, p, _) in points.items() if a == "post-hoc")
    nbytes, psnr, _ = points[arm, count]
    x, y = np.array(curve).T
    target = math.log(nbytes)
    if target < x[0] or target > x[-1]:
        end = (0, 1) if target < x[0] else (-2, -1)
        slope = (y[end[1]] - y[end[0]]) / (x[end[1]] - x[end[0]])
        edge = end[0] if target < x[0] else end[1]
        return psnr - (y[edge] + slope * (target - x[edge]))
    return psnr - float(np.interp(target, x, y))


def add_screening_set(parser: argparse.ArgumentParser) -> None:
    """The screening set's options (docs/rate-distortion.md): pictures, counts, iterations and crop."""
    parser.add_argument("--images", nargs="*", default=["kodim03", "kodim07", "kodim15", "kodim23"])
    parser.add_argument("-n", "--counts", type=int, nargs="*", default=[400, 600, 800])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--crop", type=_size, default=(384, 256), help="centre crop WxH")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_screening_set(parser)
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=ARMS)
    parser.add_argument("--rate-slope", type=float, default=3.0, help="the rate arms' FitConfig.rate_slope")
    parser.add_argument("--rate-start", type=float, default=0.3, help="the rate arms' FitConfig.rate_start")
    args = parser.parse_args()
    ensure_backend()
    print(f"N={args.counts}, {args.iterations} iterations, centre crops {args.crop[0]}x{args.crop[1]}, seed 0")
    print(f"rate arms: slope {args.rate_slope} dB per ln(rate) from {args.rate_start:.0%} of the fit")
    rows, gains = [], {arm: [] for arm in args.arms if arm != "post-hoc"}
    for path in kodak_images(False, args.images):
        image = _centre_crop(load_image(path), args.crop)
        points = {}
        for count in args.counts:
            cfg = FitConfig(
                count=count, iterations=args.iterations, rate_slope=args.rate_slope, rate_start=args.rate_start
            )
            plain = run_fit(image, replace(cfg, rate_slope=0.0))
            for arm in ("post-hoc", *gains):
                points[arm, count] = encode(image, cfg, arm, plain)
        for (arm, count), (nbytes, psnr, seconds) in points.items():
            delta = "-" if arm == "post-hoc" else f"{gain(points, arm, count):+.3f}"
            if arm != "post-hoc":
                gains[arm].append(float(delta))
            bpp = 8 * nbytes / (image.shape[0] * image.shape[1])
            row = {"image": path.stem, "N": str(count), "arm": arm, "bytes": str(nbytes), "bpp": f"{bpp:.3f}"}
            rows.append({**row, "PSNR": f"{psnr:.2f}", "dB @ equal bytes": delta, "encode s": f"{seconds:.1f}"})
            print(" | ".join(rows[-1].values()), file=sys.stderr, flush=True)
    print_table(rows, "Each arm against post-hoc quantization of the same fits")
    print_table(_summary(gains), "Gain at equal bytes against post-hoc quantization")
    added = {
        arm: np.subtract(gains[arm], gains[base]) for arm, base in WITHOUT_RATE.items() if {arm, base} <= set(gains)
    }
    if added:
        print_table(_summary(added), "What the rate term adds: gain over the same arm without it, at equal bytes")


def _summary(gains: dict) -> list[dict[str, str]]:
    return [
        {
            "arm": a,
            "points": str(len(g)),
            "mean dB": f"{np.mean(g):+.3f}",
            "min": f"{min(g):+.3f}",
            "max": f"{max(g):+.3f}",
        }
        for a, g in gains.items()
    ]


if __name__ == "__main__":
    main()
