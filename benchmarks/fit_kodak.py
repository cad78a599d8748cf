"""Fit quality and speed on Kodak: per image and mean; init A/B; render-mode A/B.

Run: ``python benchmarks/fit_kodak.py`` (all 24 images, ~1 h on 2 cores) or ``--quick`` (3 images).
Unquantized Gaussians: this measures the fit, not the codec.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from report import print_table

from lgi_kernels import RenderMode, ensure_backend
from lgi_studio.core.fit import FitConfig, run_fit
from lgi_studio.core.metrics import ms_ssim
from lgi_studio.io.images import load_image


def fit_row(path: Path, cfg: FitConfig) -> tuple[dict[str, str], dict[str, np.ndarray], float, float]:
    image = load_image(path)
    result = run_fit(image, cfg)
    render = result.gaussians.render(mode=cfg.mode)
    quality = ms_ssim(render, image)
    row = {
        "image": path.stem,
        "mode": cfg.mode.value,
        "init": cfg.init,
        "preset": cfg.preset if cfg.iterations is None else f"{cfg.iterations} it",
        "N": str(len(result.gaussians)),
        "PSNR dB": f"{result.psnr:.2f}",
        "MS-SSIM": f"{quality:.4f}",
        "s": f"{result.elapsed:.0f}",
        "it/s": f"{cfg.total_iterations / result.elapsed:.1f}",
    }
    return row, result.history, result.psnr, quality


def psnr_at(history: dict[str, np.ndarray], seconds: float) -> str:
    """Training PSNR reached by ``seconds`` into the fit (float render, before 8-bit rounding)."""
    done = history["elapsed"] <= seconds
    return f"{history['psnr'][done].max():.2f}" if done.any() else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 images (kodim03, kodim08, kodim23)")
    parser.add_argument("--images", nargs="*", help="image names, e.g. kodim01 kodim05")
    parser.add_argument("-n", "--count", type=int, default=10000)
    parser.add_argument("-q", "--preset", default="balanced")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--no-ab", action="store_true", help="skip the init and render-mode comparisons")
    parser.add_argument("--ab-iterations", type=int, default=500, help="iterations of the render-mode A/B fits")
    args = parser.parse_args()
    info = ensure_backend()
    print(f"backend: {info.name}; N={args.count}, preset {args.preset}, iterations {args.iterations or 'preset'}")
    paths = kodak_images(args.quick, args.images)
    cfg = FitConfig(count=args.count, preset=args.preset, iterations=args.iterations)
    rows, psnrs, ssims, seconds = [], [], [], []
    histories = {}
    for path in paths:
        row, history, p, q = fit_row(path, cfg)
        histories[path.stem] = history
        rows.append(row)
        psnrs.append(p)
        ssims.append(q)
        seconds.append(float(row["s"]))
        print(" | ".join(row.values()), file=sys.stderr, flush=True)
    rows.append(
        {
            **{k: "" for k in rows[0]},
            "image": "mean",
            "PSNR dB": f"{np.mean(psnrs):.2f}",
            "MS-SSIM": f"{np.mean(ssims):.4f}",
            "s": f"{np.mean(seconds):.0f}",
        }
    )
    print_table(rows, f"Fit on {len(paths)} Kodak images")
    if args.no_ab:
        return
    ab_paths = paths[:3]
    checkpoints = (5, 15, 30, 60, 120)
    init_rows = []
    for path in ab_paths:
        for init in ("content", "random"):
            history = histories[path.stem] if init == cfg.init else None
            if history is None:
                _, history, _, _ = fit_row(path, FitConfig(**{**cfg.__dict__, "init": init}))
            init_rows.append(
                {"image": path.stem, "init": init, **{f"PSNR @{t}s": psnr_at(history, t) for t in checkpoints}}
            )
    print_table(init_rows, "Init A/B: training PSNR (dB) reached after so many seconds, same N and preset")
    mode_rows = []
    for path in ab_paths:
        for mode in RenderMode:
            mode_cfg = FitConfig(**{**cfg.__dict__, "mode": mode, "iterations": args.ab_iterations})
            start = time.perf_counter()
            row, _, _, _ = fit_row(path, mode_cfg)
            row["s"] = f"{time.perf_counter() - start:.0f}"
            mode_rows.append(row)
    print_table(mode_rows, f"Render-mode A/B: same N and seed, {args.ab_iterations} iterations")


if __name__ == "__main__":
    main()
