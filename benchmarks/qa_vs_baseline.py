"""Quantization on Kodak: post-hoc quantization vs quantization-aware (QA) training, per scheme and codebook
size; the LGI design's compression table; codebook-slider (requantize) latency.

Run: ``python benchmarks/qa_vs_baseline.py --quick`` (3 images). Sizes are real ``.lgi`` file bytes; PSNR is
of the picture decoded from them. QA rows also give their gain at the post-hoc row's bytes ("dB @ equal
bytes": along the post-hoc curve through the counts run when there are several, else the local slope of
``core.rate``). ``--crop 384x256`` fits centre crops: the screening set of docs/rate-distortion.md.
"""

from __future__ import annotations

import argparse
import math
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
from lgi_studio.core.rate import psnr_at_rate
from lgi_studio.core.requantize import requantize
from lgi_studio.core.schemes import get_scheme, scheme_of
from lgi_studio.core.step_rule import STEP_RULES
from lgi_studio.io.images import load_image
from lgi_studio.io.lgi_format import decode_lgi, encode_lgi

SUM = RenderMode.ACCUMULATED_SUM


def _row(image_name, count, scheme, size, qa, float_psnr, plain_psnr, quant_psnr, nbytes, pixels, seconds):
    """``float_psnr`` is this run's unquantized fit (QA moves it); the loss is counted from ``plain_psnr``, the
    fit without QA, so it is what quantization costs overall."""
    return {
        "image": image_name,
        "N": str(count),
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


def _file_point(q, image: np.ndarray) -> tuple[int, float]:
    """Bytes of the .lgi file and PSNR of the picture decoded from them."""
    data = encode_lgi(q)
    return len(data), psnr_8bit(decode_lgi(data).gaussians().render(mode=q.mode), image)


def _centre_crop(image: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    if crop is None:
        return image
    width, height = crop
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def compare(path: Path, count: int, args: argparse.Namespace) -> list[dict[str, str]]:
    """Encode seconds are the fit plus the quantization a .lgi needs (refit included), for both arms."""
    image = _centre_crop(load_image(path), args.crop)
    pixels = image.shape[0] * image.shape[1]
    iterations, quant_steps = args.iterations, args.quant_steps
    start = time.perf_counter()
    plain = run_fit(image, FitConfig(count=count, iterations=iterations))
    plain_seconds = time.perf_counter() - start
    rows = []
    for name in args.schemes:
        scheme = get_scheme(name)
        for size in args.sizes if scheme.sized_codebook and name != "gaussianimage" else [None]:
            start = time.perf_counter()
            # what the .lgi stores, refit included
            q = quantize_for_file(plain.gaussians, image, SUM, name, size, quant_steps=quant_steps)
            seconds = plain_seconds + time.perf_counter() - start
            nbytes, quant = _file_point(q, image)
            rows.append(
                _row(path.stem, count, name, size, False, plain.psnr, plain.psnr, quant, nbytes, pixels, seconds)
            )
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
            nbytes, quant = _file_point(q, image)
            rows.append(_row(path.stem, count, name, size, True, qa.psnr, plain.psnr, quant, nbytes, pixels, seconds))
            print(" | ".join(rows[-2].values()), "\n" + " | ".join(rows[-1].values()), file=sys.stderr, flush=True)
    return rows


def add_equal_bytes(rows: list[dict[str, str]]) -> None:
    """Each QA row's PSNR minus the post-hoc PSNR at the QA file's bytes: interpolated in log-bytes along the
    post-hoc points of the same image, scheme and codebook (several counts), else moved by ``core.rate``'s
    slope from the post-hoc row of the same count."""
    for row in rows:
        row["dB @ equal bytes"] = "-"
        if row["QA"] != "yes":
            continue
        same = [r for r in rows if r["QA"] == "no" and all(r[k] == row[k] for k in ("image", "scheme", "codebook"))]
        curve = sorted((math.log(int(r["bytes"])), float(r["PSNR quant"])) for r in same)
        target = math.log(int(row["bytes"]))
        if len(curve) >= 2 and curve[0][0] <= target <= curve[-1][0]:
            posthoc = float(np.interp(target, *zip(*curve, strict=True)))
        else:
            own = next(r for r in same if r["N"] == row["N"])
            posthoc = psnr_at_rate(float(own["PSNR quant"]), int(own["bytes"]), int(row["bytes"]))
        row["dB @ equal bytes"] = f"{float(row['PSNR quant']) - posthoc:+.3f}"


def summary(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Mean and range of the QA gain at equal bytes per scheme and codebook size."""
    out = []
    for key in sorted({(r["scheme"], r["codebook"]) for r in rows if r["QA"] == "yes"}):
        gains = [float(r["dB @ equal bytes"]) for r in rows if r["QA"] == "yes" and (r["scheme"], r["codebook"]) == key]
        out.append(
            {
                "scheme": key[0],
                "codebook": key[1],
                "points": str(len(gains)),
                "mean dB @ equal bytes": f"{np.mean(gains):+.3f}",
                "min": f"{min(gains):+.3f}",
                "max": f"{max(gains):+.3f}",
            }
        )
    return out


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


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 images (kodim03, kodim08, kodim23)")
    parser.add_argument("--images", nargs="*")
    parser.add_argument("-n", "--counts", type=int, nargs="*", default=[3000], help="Gaussian counts")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--crop", type=_size, default=None, help="fit a centre crop, e.g. 384x256")
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--schemes", nargs="*", default=["lgi-sq", "lgi", "gaussianimage", "vq"])
    parser.add_argument("--quant-steps", default="auto", choices=STEP_RULES, help="lgi-sq's steps")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-tables", action="store_true", help="no compression table, no slider latency")
    args = parser.parse_args()
    info = ensure_backend()
    crop = "" if args.crop is None else f", centre crops {args.crop[0]}x{args.crop[1]}"
    print(
        f"backend: {info.name}; N={args.counts}, {args.iterations} iterations, {args.quant_steps} steps{crop}; "
        "QA: lgi-sq tunes 30% more after the fit, codebook schemes from 70%"
    )
    paths = kodak_images(args.quick, args.images)
    if not args.skip_compare:
        rows = [row for p in paths for count in args.counts for row in compare(p, count, args)]
        add_equal_bytes(rows)
        print_table(rows, "Post-hoc quantization (QA no) vs quantization-aware training (QA yes), .lgi files")
        print_table(summary(rows), "QA against post-hoc at equal bytes")
    if args.skip_tables:
        return
    print_table(compression_table(paths[0], 1000, args.iterations), f"Compression table, {paths[0].stem}, N=1000")
    print_table(slider_latency(paths[0], 10000, 300), f"Codebook slider (requantize), {paths[0].stem}, N=10000")


if __name__ == "__main__":
    main()
