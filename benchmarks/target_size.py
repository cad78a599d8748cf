"""Target sizes on Kodak: asked vs got, with the time the search took (docs/targets.md).

Run: ``python benchmarks/target_size.py`` (all 24 pictures at 10, 20 and 40 KB, the ``fast`` preset) or
``--quick`` (3 pictures). ``--iterations`` shortens each fit. Each row is one ``lgi_studio.codec``
encode to a target, exactly what ``lgi encode --target-size`` runs; rows append to ``--csv`` as they
finish and a rerun skips what is there.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import kodak_images
from report import print_table

FIELDS = ("image", "asked", "got", "percent", "met", "psnr", "gaussians", "fits", "files", "seconds")


def run(path: Path, size: int, preset: str, iterations: int | None) -> dict[str, str]:
    from lgi_studio import codec
    from lgi_studio.targets import Target

    picture = codec.as_picture(path)
    cfg = codec.build_config(preset=preset, iterations=iterations)
    start = time.perf_counter()
    encoded = codec.encode_image(picture, cfg, target=Target("size", size, f"{size // 1000}KB"))
    seconds = time.perf_counter() - start
    report = encoded.target
    return {
        "image": path.stem,
        "asked": str(size),
        "got": str(len(encoded.data)),
        "percent": f"{100 * len(encoded.data) / size:.1f}",
        "met": "yes" if report.met else "NO",
        "psnr": f"{encoded.psnr:.2f}",
        "gaussians": str(encoded.quantized.n),
        "fits": str(report.fits),
        "files": str(len(report.trials)),
        "seconds": f"{seconds:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 pictures")
    parser.add_argument("--images", nargs="*", help="picture names, e.g. kodim01 kodim05")
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 20_000, 40_000], help="bytes")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--iterations", type=int, default=None, help="override the preset's iterations")
    parser.add_argument("--csv", type=Path, default=Path("build/target_size.csv"), help="rows, appended")
    args = parser.parse_args()

    from lgi_studio import codec

    codec.start_backend()
    rows = []
    if args.csv.exists():
        with args.csv.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    done = {(r["image"], r["asked"]) for r in rows}
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    for path in kodak_images(args.quick, args.images):
        for size in args.sizes:
            if (path.stem, str(size)) in done:
                continue
            row = run(path, size, args.preset, args.iterations)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            with args.csv.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                if handle.tell() == 0:
                    writer.writeheader()
                writer.writerow(row)
            rows.append(row)
    if not rows:
        raise SystemExit("no rows")
    fits_by_row = [int(r["fits"]) for r in rows]
    print_table(rows, f"Target sizes, preset {args.preset}, iterations {args.iterations or 'of the preset'}")
    met = sum(r["met"] == "yes" for r in rows)
    mean_fits = sum(fits_by_row) / len(rows)
    print(f"\nmet {met} of {len(rows)}; fits per encode: mean {mean_fits:.2f}, max {max(fits_by_row)}")


if __name__ == "__main__":
    main()
