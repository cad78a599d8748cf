"""Quantization on Kodak: post-hoc quantization vs quantization-aware (QA) training, per scheme and codebook
size; the LGI design's compression table; codebook-slider (requantize) latency.

Run: ``python benchmarks/qa_vs_baseline.py --quick`` (3 images). Sizes are real payload bytes of each scheme
plus the 64-byte .lgi container.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from report import print_table

from lgi_kernels import RenderMode, ensure_backend
from lgi_studio.core.fit import FitConfig, quantize_for_file, run_fit
from lgi_studio.core.metrics import psnr_8bit
from lgi_studio.core.quantize import ScalarQuantizer, VectorQuantizer
from lgi_studio.core.requantize import requantize
from lgi_studio.core.schemes import get_scheme, scheme_of
from lgi_studio.core.step_rule import STEP_RULES
from lgi_studio.io.images import load_image
from lgi_studio.io.lgi_format import encode_lgi

SUM = RenderMode.ACCUMULATED_SUM


def _row(image_name, scheme, size, qa, float_psnr, plain_psnr, quant_psnr, nbytes, pixels, seconds) -> dict[str, str]:
    """``float_psnr`` is this run's unquantized fit (QA moves it); the loss is counted from ``plain_psnr``, the
    fit without QA, so it is what quantization costs overall."""
    return {
        "image": image_name,
        "scheme": scheme,
        "codebook": str(size or "-"),
        "QA": "yes" if qa else "no",
        "PSNR float": f"{float_psnr:.2f}",
        "PSNR quant": f"{quant_psnr:.2f}",
        "loss dB": f"{plain_psnr - quant_psnr:.2f}",
        "bytes": str(nbytes),
        "bpp": f"{8 * nbytes / pixels:.3f}",
        "encode s": f"{seconds:.0f}",
    }


def compare(
    path: Path, count: int, iterations: int, sizes: list[int], schemes: list[str], quant_steps: str
) -> list[dict[str, str]]:
    """Encode seconds are the fit plus the quantization a .lgi needs (refit included), for both arms."""
    image = load_image(path)
    pixels = image.shape[0] * image.shape[1]
    base = FitConfig(count=count, iterations=iterations)
    start = time.perf_counter()
    plain = run_fit(image, base)
    plain_seconds = time.perf_counter() - start
    rows = []
    for name in schemes:
        scheme = get_scheme(name)
        for size in sizes if scheme.sized_codebook and name != "gaussianimage" else [None]:
            start = time.perf_counter()
            # what the .lgi stores, refit included
            q = quantize_for_file(plain.gaussians, image, SUM, name, size, quant_steps=quant_steps)
            seconds = plain_seconds + time.perf_counter() - start
            quant = psnr_8bit(scheme_of(q).dequantize(q).render(), image)
            nbytes = len(encode_lgi(q))
            rows.append(_row(path.stem, name, size, False, plain.psnr, plain.psnr, quant, nbytes, pixels, seconds))
            cfg = FitConfig(
                count=count,
                iterations=iterations,
                qa_training=True,
                scheme=name,
                codebook_size=size,
                quant_steps=quant_steps,
            )
            start = time.perf_counter()
            qa = run_fit(image, cfg)
            q = qa.final_quantized(image)
            seconds = time.perf_counter() - start
            quant = psnr_8bit(scheme_of(q).dequantize(q).render(), image)
            nbytes = len(encode_lgi(q))
            rows.append(_row(path.stem, name, size, True, qa.psnr, plain.psnr, quant, nbytes, pixels, seconds))
            print(" | ".join(rows[-2].values()), "\n" + " | ".join(rows[-1].values()), file=sys.stderr, flush=True)
    return rows


def compression_table(path: Path, count: int, iterations: int) -> list[dict[str, str]]:
    """The LGI design's table: bytes per Gaussian and PSNR of each storage form, one picture."""
    image = load_image(path)
    g = run_fit(image, FitConfig(count=count, iterations=iterations)).gaussians
    vectors = np.concatenate([g.means, g.chol, g.colors], axis=1)
    rows = []

    def add(label: str, nbytes: int, decoded) -> None:
        rows.append(
            {
                "storage": label,
                "bytes/Gaussian": f"{nbytes / len(g):.2f}",
                "total bytes": str(nbytes),
                "PSNR": f"{psnr_8bit(decoded.render(), image):.2f}",
            }
        )

    add("float32, uncompressed", vectors.astype(np.float32).nbytes, g)
    sq = ScalarQuantizer.fit(vectors, 8)
    sq_vectors = sq.dequantize(sq.quantize(vectors))
    add("scalar 8-bit per parameter", len(g) * vectors.shape[1] + 2 * 4 * vectors.shape[1], _from(sq_vectors, g))
    vq = VectorQuantizer.train(vectors, 256)
    raw = vq.codebook.astype(np.float16).tobytes() + vq.quantize(vectors).astype(np.uint8).tobytes()
    vq_g = _from(vq.dequantize(vq.quantize(vectors)), g)
    add("VQ 256 (8-bit indices + float16 codebook)", len(raw), vq_g)
    add("VQ 256 + zstandard", len(zstandard.ZstdCompressor(level=19).compress(raw)), vq_g)
    for name in ("vq", "gaussianimage", "lgi", "lgi-sq"):
        scheme = get_scheme(name)
        q = scheme.quantize(g, SUM, scheme.train(g, SUM, None))
        add(f"scheme {name} (.lgi file)", len(encode_lgi(q)), scheme_of(q).dequantize(q))
        q = quantize_for_file(g, image, SUM, name, None)
        add(f"scheme {name}, colours refit (.lgi file)", len(encode_lgi(q)), scheme_of(q).dequantize(q))
    return rows


def _from(vectors: np.ndarray, like):
    from lgi_studio.core.model import Gaussians

    return Gaussians(vectors[:, 0:2], vectors[:, 2:5], vectors[:, 5:8], like.opacities, like.native_size)


def slider_latency(path: Path, count: int, iterations: int) -> list[dict[str, str]]:
    """requantize() latency at each slider stop, visited low to high then back (cached)."""
    image = load_image(path)
    result = run_fit(image, FitConfig(count=count, iterations=iterations))
    reference = psnr_8bit(result.gaussians.render(), image)
    requantize(result.gaussians, image, SUM, 16, reference_psnr=reference)  # warm the kernels
    cache: dict = {}
    previous = None
    rows = []
    for size in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096):
        start = time.perf_counter()
        r = requantize(result.gaussians, image, SUM, size, previous=previous, reference_psnr=reference, cache=cache)
        first = time.perf_counter() - start
        previous = r.quantized
        rows.append(
            {
                "codebook": str(size),
                "first visit ms": f"{first * 1000:.0f}",
                "PSNR": f"{r.psnr:.2f}",
                "loss dB": f"{r.psnr_loss:.2f}",
                "bytes": str(r.bytes),
            }
        )
    for row in rows:
        start = time.perf_counter()
        requantize(result.gaussians, image, SUM, int(row["codebook"]), reference_psnr=reference, cache=cache)
        row["cached ms"] = f"{(time.perf_counter() - start) * 1000:.0f}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 images (kodim03, kodim08, kodim23)")
    parser.add_argument("--images", nargs="*")
    parser.add_argument("-n", "--count", type=int, default=3000)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--schemes", nargs="*", default=["lgi-sq", "lgi", "gaussianimage", "vq"])
    parser.add_argument("--quant-steps", default="auto", choices=STEP_RULES, help="lgi-sq's steps")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-tables", action="store_true", help="no compression table, no slider latency")
    args = parser.parse_args()
    info = ensure_backend()
    print(f"backend: {info.name}; N={args.count}, {args.iterations} iterations, QA from 70%, {args.quant_steps} steps")
    paths = kodak_images(args.quick, args.images)
    if not args.skip_compare:
        rows = [
            row
            for p in paths
            for row in compare(p, args.count, args.iterations, args.sizes, args.schemes, args.quant_steps)
        ]
        print_table(rows, "Post-hoc quantization (QA no) vs quantization-aware training (QA yes)")
    if args.skip_tables:
        return
    print_table(compression_table(paths[0], 1000, args.iterations), f"Compression table, {paths[0].stem}, N=1000")
    print_table(slider_latency(paths[0], 10000, 300), f"Codebook slider (requantize), {paths[0].stem}, N=10000")


if __name__ == "__main__":
    main()
