"""Encode time at the same file: our encoder against another checkout's, in one run, taking turns.

Run: ``python benchmarks/encode_speed.py --baseline VENV`` where VENV holds the other checkout installed
(``pip install -e .``). Each side runs ``lgi encode`` with its default settings (the CLI's own ``main``, so
what is measured is what ships) in its own long-lived worker process; for every picture and count the two
sides encode in turn (the side that goes first alternates), then each file is read back, decoded and
scored. Prints encode seconds (wall, and CPU seconds of the worker process, all its threads: steadier than
wall time when other work shares the machine), iterations run, file bytes and file PSNR per side, their
ratios, and the PSNR difference at equal bytes (files of different sizes compared along the curve).

The default set is the six rate-distortion counts of ``rd_kodak.py`` on four Kodak pictures; ``--pictures``,
``--counts`` and ``--iterations`` shrink it for a contended machine (say so when quoting the figures).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kodak import KODAK
from report import print_table
from side import Side

COUNTS = (700, 1200, 2000, 3000, 4500, 7000)
"""The Gaussian counts of rd_kodak.py's LGI rate points."""
PICTURES = ("kodim03", "kodim07", "kodim15", "kodim23")


def _encode_here(request: dict) -> dict:
    """Encode one picture with this interpreter's ``lgi`` and score the file it wrote."""
    import numpy as np
    from PIL import Image

    from lgi_studio.cli import main
    from lgi_studio.core.metrics import psnr_8bit
    from lgi_studio.io.lgi_format import read_lgi

    metrics = request["output"] + ".json"
    argv = ["encode", "-i", request["picture"], "-o", request["output"], "-n", str(request["count"]), "--quiet"]
    argv += ["--metrics-json", metrics]
    if request.get("iterations"):
        argv += ["--iterations", str(request["iterations"])]
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    with open(metrics) as handle:
        iterations = len(json.load(handle)["history"]["iteration"])
    with Image.open(request["picture"]) as im:
        original = np.asarray(im.convert("RGB"))
    decoded = read_lgi(request["output"]).gaussians().render()
    psnr = psnr_8bit(decoded, original.astype(np.float32) / 255.0)
    size = os.path.getsize(request["output"])
    return {"status": status, "seconds": seconds, "cpu": cpu, "iterations": iterations, "bytes": size, "psnr": psnr}


def worker() -> None:
    """Answer one JSON request per stdin line with one JSON line."""
    from lgi_kernels import ensure_backend

    ensure_backend("cpu")
    for line in sys.stdin:
        print(json.dumps(_encode_here(json.loads(line))), flush=True)


def _side(python: str) -> Side:
    """A worker process running one checkout's encoder."""
    return Side(python, str(Path(__file__).resolve()))


def _row(picture: str, count: int, ours: dict, base: dict) -> dict[str, str]:
    """One table row; "at base bytes" is our file's PSNR moved along the local rate-distortion line to the
    baseline's size (``core.rate.psnr_at_rate``, 3 dB per unit of ln(bytes)), minus the baseline's."""
    from lgi_studio.core.rate import psnr_at_rate

    return {
        "picture": picture,
        "N": f"{count}",
        "ours s": f"{ours['seconds']:.1f}",
        "base s": f"{base['seconds']:.1f}",
        "time ratio": f"{ours['seconds'] / base['seconds']:.2f}",
        "ours cpu s": f"{ours['cpu']:.1f}",
        "base cpu s": f"{base['cpu']:.1f}",
        "cpu ratio": f"{ours['cpu'] / base['cpu']:.2f}",
        "ours it": f"{ours['iterations']}",
        "base it": f"{base['iterations']}",
        "ours bytes": f"{ours['bytes']}",
        "base bytes": f"{base['bytes']}",
        "ours dB": f"{ours['psnr']:.2f}",
        "base dB": f"{base['psnr']:.2f}",
        "dB diff": f"{ours['psnr'] - base['psnr']:+.2f}",
        "at base bytes": f"{psnr_at_rate(ours['psnr'], ours['bytes'], base['bytes']) - base['psnr']:+.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", required="--worker" not in sys.argv, help="venv with the other checkout")
    parser.add_argument("--pictures", default=",".join(PICTURES), help="comma-separated Kodak names")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), help="comma-separated Gaussian counts")
    parser.add_argument("--iterations", type=int, default=None, help="override the preset (both sides)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    sides = {"ours": _side(sys.executable), "base": _side(str(Path(args.baseline) / "bin" / "python"))}
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows, turn = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for picture in args.pictures.split(","):
            for count in (int(c) for c in args.counts.split(",")):
                request = {"picture": str(KODAK / f"{picture}.png"), "count": count, "iterations": args.iterations}
                got = {}
                for name in list(sides)[:: 1 if turn % 2 == 0 else -1]:
                    got[name] = sides[name].ask({**request, "output": str(Path(folder) / f"{name}.lgi")})
                turn += 1
                rows.append(_row(picture, count, got["ours"], got["base"]))
                print(json.dumps(rows[-1]), flush=True)
    for side in sides.values():
        side.close()
    print_table(rows)
    for kind in ("s", "cpu s"):
        total = {name: sum(float(r[f"{name} {kind}"]) for r in rows) for name in ("ours", "base")}
        print(f"total encode {kind}: ours {total['ours']:.0f}, baseline {total['base']:.0f} "
              f"(ratio {total['ours'] / total['base']:.2f})")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
