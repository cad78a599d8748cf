"""Rate-distortion on Kodak: LGI (with and without QA) against JPEG, WebP, AVIF, JPEG XL and GaussianImage.

Run: ``python benchmarks/rd_kodak.py`` (all 24 images; LGI takes minutes per point on 2 cores) or
``--quick`` (3 images, 3 rates, short fits: a smoke test). Rates are the sizes of real files on disk (``.lgi``
written by the encoder, the others by their libraries); every decoded picture is scored by the same code
(8-bit PSNR-RGB, MS-SSIM). Points append to ``OUT/points.csv`` as they finish, so a rerun skips what is done;
``OUT/summary.md`` and ``OUT/rd_kodak.png`` are rewritten from all points at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from report import print_table

from lgi_studio.core.metrics import ms_ssim, psnr_8bit
from lgi_studio.io.atomic import atomic_writer

ROOT = Path(__file__).resolve().parents[1]

GAUSSIANIMAGE = ((0.118, 24.7), (0.147, 25.0), (0.432, 27.4), (0.717, 28.7), (1.001, 29.7), (1.286, 30.5))
"""GaussianImage's published Kodak curve (bpp, PSNR), as quoted in the rate-distortion issue."""

LGI_POINTS = ((700, 128), (1200, 256), (2000, 256), (3000, 512), (4500, 512), (7000, 1024))
"""(Gaussian count, colour codebook entries) per LGI rate point: about 0.12 to 1 bpp on Kodak."""
LGI_ITERATIONS = 5000
"""Iterations per LGI point: the longest fit that stays within 5 minutes per image on 2 cores (see docs)."""
QUICK_LGI_POINTS = (LGI_POINTS[0], LGI_POINTS[2], LGI_POINTS[4])
QUICK_ITERATIONS = 300

SETTINGS = {
    "jpeg": (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90),
    "webp": (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90),
    "avif": (5, 10, 20, 30, 40, 50, 60, 70, 80, 90),
    "jxl": (25.0, 15.0, 10.0, 7.0, 5.0, 3.5, 2.5, 1.8, 1.2, 0.8),  # butteraugli distance
    "png": (9,),
}
QUICK_SETTINGS = {"jpeg": (10, 40, 80), "webp": (5, 40, 80), "avif": (10, 40, 80), "jxl": (10.0, 3.5, 1.2), "png": (9,)}
CLASSIC = tuple(SETTINGS)
OURS = {
    "lgi-sq": ("lgi-sq", False, "fixed"),
    "lgi-sq-auto": ("lgi-sq", False, "auto"),
    "lgi-sq-qa": ("lgi-sq", True, "auto"),
    "lgi-qa": ("lgi", True, "fixed"),
    "lgi": ("lgi", False, "fixed"),
}
"""Our codecs: (scheme, quantization-aware training, quantization steps: fixed defaults or ``core.step_rule``).
``lgi-sq`` is the first run's codec (fixed steps); ``lgi-sq-auto`` is the encoder's default since."""
STYLES = {
    "lgi-sq": ("#c2255c", "o-", 2.4),
    "lgi-sq-auto": ("#a61e4d", "D-", 2.4),
    "lgi-sq-qa": ("#c2255c", "o--", 1.4),
    "lgi-qa": ("#e8590c", "s-", 1.6),
    "lgi": ("#e8590c", "s--", 1.2),
    "jpeg": ("#1971c2", ".-", 1.2),
    "webp": ("#2f9e44", ".-", 1.2),
    "avif": ("#7048e8", ".-", 1.2),
    "jxl": ("#0c8599", ".-", 1.2),
}
"""Plot colour, marker and line width per codec."""
BPP_GRID = (0.12, 0.15, 0.25, 0.35, 0.43, 0.5, 0.72, 1.0)


@dataclass
class Point:
    codec: str
    setting: str
    image: str
    bytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    seconds: float  # encode time
    float_psnr: float = math.nan  # LGI: the unquantized fit's PSNR (what quantization starts from)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.codec, self.setting, self.image


def _options(codec: str, setting: float) -> dict:
    if codec == "jpeg":  # 4:2:0 with optimized Huffman tables
        return {"quality": int(setting), "subsampling": 2, "optimize": True}
    if codec == "webp":
        return {"quality": int(setting), "method": 6}
    if codec == "avif":
        return {"quality": int(setting), "speed": 4, "subsampling": "4:2:0"}
    return {"optimize": True, "compress_level": int(setting)}  # png


def encode_classic(codec: str, image: np.ndarray, setting: float) -> bytes:
    """One picture through a standard codec; ``image`` is uint8 [H, W, 3]."""
    if codec == "jxl":
        import imagecodecs

        return imagecodecs.jpegxl_encode(image, distance=float(setting), effort=7)
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format=codec.upper(), **_options(codec, setting))
    return out.getvalue()


def decode_classic(codec: str, data: bytes) -> np.ndarray:
    if codec == "jxl":
        import imagecodecs

        return np.asarray(imagecodecs.jpegxl_decode(data))[..., :3]
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def score(codec: str, setting: str, name: str, original: np.ndarray, decoded, size: int, seconds: float) -> Point:
    """Metrics of one decoded picture, the same code for every codec."""
    height, width = original.shape[:2]
    decoded = decoded.astype(np.float64) / 255.0 if decoded.dtype == np.uint8 else decoded
    reference = original.astype(np.float64) / 255.0
    lossless = codec == "png"
    return Point(
        codec,
        setting,
        name,
        size,
        8 * size / (width * height),
        math.inf if lossless else psnr_8bit(decoded, reference),
        1.0 if lossless else ms_ssim(decoded, reference),
        seconds,
    )


def run_classic(codec: str, setting: float, path: Path) -> Point:
    from PIL import Image

    with Image.open(path) as im:
        original = np.asarray(im.convert("RGB"))
    start = time.perf_counter()
    data = encode_classic(codec, original, setting)
    seconds = time.perf_counter() - start
    return score(codec, f"{setting:g}", path.stem, original, decode_classic(codec, data), len(data), seconds)


def lgi_setting(codec: str, count: int, codebook: int, iterations: int) -> str:
    """The setting's name; the codebook only where colours go through one."""
    return f"n{count}-cb{codebook}-it{iterations}" if OURS[codec][0] == "lgi" else f"n{count}-it{iterations}"


def fit_tag(cfg) -> str:
    """What a kept fit's name adds for the settings it depends on besides picture, count and iterations: the
    rate term's slope and step rule where the fit has one (``core.fit._rate_term``)."""
    if cfg.rate_slope > 0 and cfg.scheme == "lgi-sq":
        return f"-rate{cfg.rate_slope:g}-{cfg.quant_steps}"
    return ""


def run_lgi(codec: str, count: int, codebook: int, iterations: int, path: Path, files: Path) -> Point:
    """Encode with our codec, write the ``.lgi``, read it back and score the decoded render.

    A fit without QA does not depend on the scheme or its steps, so it is kept (``files/float``, scheme float32,
    with its fit time) and codecs without QA quantize a kept fit of the same picture, count and iterations
    instead of fitting again; their encode time is the kept fit time plus their own quantization. The rate
    term (``lgi-sq`` only) makes a fit depend on the step rule it prices, so those fits are kept per rule and
    slope (``fit_tag``), and kept fits made before it are not reused for them."""
    from PIL import Image

    from lgi_studio import codec as pipeline
    from lgi_studio.core.fit import FitConfig
    from lgi_studio.core.schemes import get_scheme
    from lgi_studio.io.lgi_format import read_lgi, write_lgi

    pipeline.start_backend()
    with Image.open(path) as im:
        original = np.asarray(im.convert("RGB"))
    scheme, qa, steps = OURS[codec]
    cfg = FitConfig(
        count=count,
        iterations=iterations,
        scheme=scheme,
        codebook_size=codebook if scheme == "lgi" else None,
        qa_training=qa,
        quant_steps=steps,
    )
    image = original.astype(np.float32) / 255.0
    kept = files / "float" / f"{path.stem}-n{count}-it{iterations}{fit_tag(cfg)}.lgi"
    setting = lgi_setting(codec, count, codebook, iterations)
    target = files / codec / f"{path.stem}-{setting}.lgi"
    target.parent.mkdir(parents=True, exist_ok=True)
    result = None
    if not qa and kept.exists():
        fit_file = read_lgi(kept)
        gaussians, fit_seconds = fit_file.gaussians(), float(fit_file.metadata["fit_seconds"])
        float_psnr = psnr_8bit(gaussians.render(), image)
        start = time.perf_counter()
        encoded = pipeline.pack(gaussians, image, cfg)
    else:
        start = time.perf_counter()
        result = pipeline.fit_picture(image, cfg)
        gaussians, float_psnr = result.gaussians, result.psnr
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        encoded = pipeline.pack_fit(result, image)
    pipeline.write_file(target, encoded.data)
    seconds = fit_seconds + time.perf_counter() - start
    if result is not None and not qa:
        kept.parent.mkdir(parents=True, exist_ok=True)
        float32 = get_scheme("float32")
        write_lgi(kept, float32.quantize(gaussians, cfg.mode, {}), metadata={"fit_seconds": fit_seconds})
    decoded = read_lgi(target).gaussians().render()
    point = score(codec, setting, path.stem, original, decoded, target.stat().st_size, seconds)
    point.float_psnr = float_psnr
    return point


def load_points(path: Path) -> list[Point]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    types = {f.name: f.type for f in fields(Point)}
    cast = {"int": int, "float": float, "str": str}
    return [Point(**{k: cast[types[k]](v) for k, v in row.items() if v not in ("", None)}) for row in rows]


def save_points(path: Path, points: list[Point]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Point)], lineterminator="\n")
    writer.writeheader()
    for p in sorted(points, key=lambda p: (p.codec, p.image, p.bpp)):
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in asdict(p).items()})
    with atomic_writer(path) as handle:
        handle.write(out.getvalue().encode())


def mean_curve(points: list[Point], codec: str, images: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (bpp, PSNR, MS-SSIM) per setting over the images that have every setting, sorted by rate."""
    by_setting: dict[str, list[Point]] = {}
    for p in points:
        if p.codec == codec and p.image in images:
            by_setting.setdefault(p.setting, []).append(p)
    rows = [
        (np.mean([p.bpp for p in ps]), np.mean([p.psnr for p in ps]), np.mean([p.ms_ssim for p in ps]))
        for ps in by_setting.values()
        if len(ps) == len(images)
    ]
    rows.sort()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def psnr_at_rates(points: list[Point], codec: str, images: list[str], rates: Iterable[float]) -> list[float | None]:
    """Mean over images of each image's PSNR at ``rates``, interpolated linearly in log-bpp (None where an
    image's curve does not reach that rate)."""
    out = []
    for rate in rates:
        values = []
        for name in images:
            own = sorted((p.bpp, p.psnr) for p in points if p.codec == codec and p.image == name)
            bpp = np.log([b for b, _ in own])
            if len(own) < 2 or not bpp[0] <= math.log(rate) <= bpp[-1]:
                break
            values.append(float(np.interp(math.log(rate), bpp, [q for _, q in own])))
        out.append(float(np.mean(values)) if len(values) == len(images) else None)
    return out


def bd_pair(anchor: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> tuple[str, str]:
    """BD-rate (%) and BD-PSNR (dB) of ``test`` against ``anchor`` (akima, the bjontegaard package)."""
    import bjontegaard as bd

    if len(anchor[0]) < 3 or len(test[0]) < 3:
        return "-", "-"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rate = bd.bd_rate(*anchor, *test, method="akima", require_matching_points=False)
            gain = bd.bd_psnr(*anchor, *test, method="akima", require_matching_points=False)
        except (ValueError, ZeroDivisionError):
            return "-", "-"
    return (f"{rate:+.1f}", f"{gain:+.2f}") if np.isfinite(rate) and np.isfinite(gain) else ("-", "-")


def complete_images(points: list[Point], codec: str) -> list[str]:
    """The images on which ``codec`` has every setting it has anywhere."""
    settings: dict[str, set[str]] = {}
    for p in points:
        if p.codec == codec:
            settings.setdefault(p.image, set()).add(p.setting)
    every = set().union(*settings.values()) if settings else set()
    return sorted(name for name, own in settings.items() if own == every)


def summarize(points: list[Point], images: list[str], out: Path, plot_name: str = "rd_kodak.png") -> str:
    """Markdown tables (mean curves, PSNR at fixed rates, BD figures) and the RD plot, over ``images``. Our
    codecs that lack some of them (a later codec, run on fewer images) get the same tables again over the
    images they have, with their own plot."""
    present = [c for c in (*OURS, *CLASSIC) if any(p.codec == c and p.image in images for p in points)]
    codecs = [c for c in present if set(images) <= set(complete_images(points, c))]
    curves = {c: mean_curve(points, c, images) for c in codecs}
    lines = [f"Kodak, {len(images)} images: {', '.join(images)}", ""]

    rows = []
    for codec in codecs:
        bpp, psnr, ssim = curves[codec]
        for b, q, s in zip(bpp, psnr, ssim, strict=True):
            rows.append({"codec": codec, "bpp": f"{b:.3f}", "PSNR dB": f"{q:.2f}", "MS-SSIM": f"{s:.4f}"})
    lines += _table(rows, "Mean over images per setting")

    rows = []
    for codec in (c for c in codecs if c != "png"):
        at = psnr_at_rates(points, codec, images, BPP_GRID)
        cells = {f"@{r:g}": "-" if v is None else f"{v:.2f}" for r, v in zip(BPP_GRID, at, strict=True)}
        rows.append({"codec": codec, **cells})
    lines += _table(rows, "Mean PSNR (dB) at fixed rates, each image interpolated in log-bpp ('-': not reached)")

    seconds = {}
    for codec in (c for c in OURS if c in codecs):
        mine = [p for p in points if p.codec == codec and p.image in images]
        if mine:
            times = [p.seconds for p in mine]
            seconds[codec] = f"{np.mean(times):.0f} s mean, {max(times):.0f} s max"
    if seconds:
        lines += [f"Encode time per LGI point: {'; '.join(f'{k} {v}' for k, v in seconds.items())}", ""]

    anchors = {c: curves[c][:2] for c in codecs if c != "png"}
    anchors["GaussianImage"] = tuple(np.array(v) for v in zip(*GAUSSIANIMAGE, strict=True))
    rows = []
    for ours in (c for c in OURS if c in curves):
        for name, anchor in anchors.items():
            if name != ours:
                rate, gain = bd_pair(anchor, curves[ours][:2])
                ssim_rate = bd_pair(_ssim_db(curves[name]), _ssim_db(curves[ours]))[0] if name in curves else "-"
                row = {"ours": ours, "against": name, "BD-rate %": rate, "BD-PSNR dB": gain}
                rows.append({**row, "BD-rate MS-SSIM %": ssim_rate})
    if rows:
        title = (
            "Bjontegaard deltas of our mean curves (negative BD-rate: fewer bits for the same quality; MS-SSIM in dB)"
        )
        lines += _table(rows, title)
    _plot(curves, out / plot_name, len(images))
    for codec in (c for c in OURS if c in present and c not in codecs):
        subset = [name for name in complete_images(points, codec) if name in images]
        if subset:
            lines += [f"## {codec} on the images it has", ""]
            lines.append(summarize(points, subset, out, f"rd_kodak-{codec}.png"))
    return "\n".join(lines)


def _ssim_db(curve: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(bpp, MS-SSIM as -10 log10(1 - MS-SSIM)): the decibel scale on which MS-SSIM curves are compared."""
    bpp, _, ssim = curve
    return bpp, -10.0 * np.log10(np.maximum(1.0 - ssim, 1e-12))


def _table(rows: list[dict[str, str]], title: str) -> list[str]:
    if not rows:
        return []
    buffer = io.StringIO()
    stdout, sys.stdout = sys.stdout, buffer
    try:
        print_table(rows, title)
    finally:
        sys.stdout = stdout
    return [*buffer.getvalue().splitlines(), ""]


def _plot(curves: dict, path: Path, count: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for codec, (bpp, psnr, ssim) in curves.items():
        if codec == "png":
            continue
        colour, marker, width = STYLES[codec]
        left.plot(bpp, psnr, marker, color=colour, lw=width, label=codec)
        right.plot(bpp, ssim, marker, color=colour, lw=width, label=codec)
    gi = np.array(GAUSSIANIMAGE)
    left.plot(gi[:, 0], gi[:, 1], "s:", color="gray", label="GaussianImage (published, all 24 images)")
    for ax, label in ((left, "PSNR-RGB (dB)"), (right, "MS-SSIM")):
        ax.set_xlim(0, 1.3)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    left.legend()
    fig.suptitle(f"Rate-distortion on Kodak ({count} images, mean per setting)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def encode_all(points: list[Point], classic: list, ours: list, jobs: int, files: Path, csv_path: Path) -> None:
    """Run the missing points, saving the CSV after each LGI point (they take minutes)."""
    from tqdm import tqdm

    with tqdm(total=len(classic) + len(ours), unit="point", dynamic_ncols=True) as bar:
        for task in classic:
            points.append(run_classic(*task))
            bar.update(1)
        save_points(csv_path, points)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_lgi, *task, files) for task in ours]
            for future in as_completed(futures):
                point = future.result()
                points.append(point)
                save_points(csv_path, points)
                bar.set_postfix_str(f"{point.codec} {point.image} {point.bpp:.3f} bpp {point.psnr:.2f} dB")
                bar.update(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 images, 3 rates, short fits (smoke test)")
    parser.add_argument("--images", nargs="*", help="image names, e.g. kodim01 kodim05")
    parser.add_argument("--codecs", nargs="*", default=[*OURS, *CLASSIC], choices=[*OURS, *CLASSIC])
    parser.add_argument("--iterations", type=int, default=None, help="iterations per LGI point")
    parser.add_argument("--jobs", type=int, default=1, help="LGI encodes at once (each uses every core)")
    parser.add_argument("--out", type=Path, default=None, help="results (default docs/rd; quick: build/rd-quick)")
    parser.add_argument("--summary-only", action="store_true", help="no LGI encoding: summarize the finished images")
    parser.add_argument(
        "--files",
        type=Path,
        default=ROOT / "build" / "rd-files",
        help="where the .lgi files go; fits without QA are kept in its float/ folder and reused",
    )
    args = parser.parse_args()
    out = args.out or (ROOT / "build" / "rd-quick" if args.quick else ROOT / "docs" / "rd")
    out.mkdir(parents=True, exist_ok=True)
    paths = kodak_images(args.quick, args.images)
    images = [p.stem for p in paths]
    iterations = args.iterations or (QUICK_ITERATIONS if args.quick else LGI_ITERATIONS)
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    lgi_points = QUICK_LGI_POINTS if args.quick else LGI_POINTS

    csv_path = out / "points.csv"
    points = load_points(csv_path)
    done = {p.key for p in points}
    classic = [(c, s, p) for c in args.codecs if c in CLASSIC for s in settings[c] for p in paths]
    classic = [t for t in classic if (t[0], f"{t[1]:g}", t[2].stem) not in done]
    ours = [  # image by image, so a partial run already gives whole curves
        (c, n, cb, iterations, p)
        for p in paths
        for c in args.codecs
        if c in OURS
        for n, cb in lgi_points
        if (c, lgi_setting(c, n, cb, iterations), p.stem) not in done
    ]
    print(f"{len(points)} points already in {csv_path}; {len(classic)} classic and {len(ours)} LGI points to go")

    encode_all(points, classic, [] if args.summary_only else ours, args.jobs, args.files, csv_path)
    pending = {t[-1].stem for t in ours} if args.summary_only else set()
    complete = [name for name in images if name not in pending]
    if not complete:
        raise SystemExit("no image has all its points yet: nothing to summarize")
    summary = summarize(points, complete, out)
    with atomic_writer(out / "summary.md") as handle:
        handle.write((summary + "\n").encode())
    print(summary)
    print(f"wrote {csv_path}, {out / 'summary.md'}, {out / 'rd_kodak.png'}")


if __name__ == "__main__":
    main()
