"""Rasterizer speed at Kodak size: forward, forward+backward, launches, decode at 768x512 and 3840x2560.

Run: ``python benchmarks/render_speed.py`` (``--quick`` for fewer repeats and sizes). Prints a table.
"fwd+bwd" is a plain render and its backward pass; "fit step" is what a fit does per iteration before
Adam (render, L2 loss and its image gradient, backward), each checkout its own way. Launches are a fit
step's. ``--gaussians FILE.lgi`` draws that file's Gaussians at its picture's size instead of synthetic ones.

``--baseline VENV`` measures another checkout's kernels (installed in VENV, e.g. the commit before a kernel
change) in the same run: each side runs in its own worker process, and the two are measured in turns,
round after round, keeping each side's best. On a shared machine that is the only fair comparison: two runs
minutes apart differ by more than most changes. ``--threads 1,2`` repeats everything per CPU thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import print_table
from side import Side

WIDTH, HEIGHT = 768, 512
DECODE_ZOOM = 5
"""Decode is measured at 768x512 and at five times that per side (3840x2560)."""


def fitted_like_gaussians(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Gaussians shaped like a fit's: sigma 1-6 px along random axes, anywhere on the image."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.0, 1.0, (n, 2))
    sig = rng.uniform(1.0, 6.0, (n, 2))
    theta = rng.uniform(0.0, np.pi, n)
    cos, sin = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [N, 2, 2]
    cov_px = rot @ (sig[:, :, None] ** 2 * np.eye(2)) @ rot.transpose(0, 2, 1)
    to_norm = np.diag([1.0 / WIDTH, 1.0 / HEIGHT])
    chol_full = np.linalg.cholesky(to_norm @ cov_px @ to_norm)
    chol = np.stack([chol_full[:, 0, 0], chol_full[:, 1, 0], chol_full[:, 1, 1]], axis=1)
    colors = rng.uniform(0.0, 1.0, (n, 3)) / np.sqrt(n / 2000.0)
    opacities = rng.uniform(0.3, 1.0, n)
    return tuple(x.astype(np.float32) for x in (means, chol, colors, opacities))


def best_cpu_of(fn, repeats: int) -> float:
    """Smallest CPU time of this process (all its threads) for ``fn``, in milliseconds: on a machine other
    people load, wall time mostly measures their load; CPU time measures the work."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000.0)
    return min(times)


def best_of(fn, repeats: int) -> float:
    """Shortest wall time of ``fn`` in milliseconds over ``repeats`` calls after a warm-up call.

    The minimum, as ``timeit`` reports: on a shared 2-core VM the median moved by up to 40% between runs,
    the minimum far less.
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return min(times)


def _fit_step(params: tuple[np.ndarray, ...], settings, target: np.ndarray):
    """What a fit does per iteration besides Adam: render, L2 loss and its image gradient, backward; with
    the fused forward where this checkout has one, else as its fit loop did it (the loss in NumPy)."""
    import lgi_kernels

    if hasattr(lgi_kernels, "rasterize_forward_l2"):

        def step() -> None:
            _, ctx, v_image, _ = lgi_kernels.rasterize_forward_l2(*params, settings, target)
            lgi_kernels.rasterize_backward(ctx, v_image)

        return step

    def step() -> None:
        render, ctx = lgi_kernels.rasterize_forward(*params, settings)
        diff = render - target
        float(np.mean(diff * diff))
        lgi_kernels.rasterize_backward(ctx, diff * np.float32(2.0 / diff.size))

    return step


def _measure_here(request: dict) -> dict:
    """One measurement in this process, with whichever ``lgi_kernels`` this interpreter imports."""
    from lgi_kernels import RasterSettings, RenderMode, rasterize_backward, rasterize_forward
    from lgi_kernels.launches import recorded_launches

    if "gaussians" in request:  # a real fit's, saved by the parent (any checkout can read an .npz)
        with np.load(request["gaussians"]) as saved:
            params = tuple(saved[k] for k in ("means", "chol", "colors", "opacities"))
            width, height = (int(v) for v in saved["size"])
    else:
        params, (width, height) = fitted_like_gaussians(request["n"]), (WIDTH, HEIGHT)
    mode = RenderMode.parse(request["mode"])
    settings = RasterSettings(width, height, mode=mode)
    big = RasterSettings(width * DECODE_ZOOM, height * DECODE_ZOOM, mode=mode, cov_floor=0.25 * DECODE_ZOOM**2)
    v_image = np.full((height, width, 3), 1e-3, dtype=np.float32)

    def fwd_bwd() -> None:
        _, ctx = rasterize_forward(*params, settings)
        rasterize_backward(ctx, v_image)

    target = np.random.default_rng(1).uniform(0.0, 1.0, (height, width, 3)).astype(np.float32)
    step = _fit_step(params, settings, target)
    repeats = request["repeats"]
    with recorded_launches() as launches:
        step()
    return {
        "step": best_of(step, repeats),
        "step cpu": best_cpu_of(step, repeats),
        "fwd+bwd": best_of(fwd_bwd, repeats),
        "fwd": best_of(lambda: rasterize_forward(*params, settings), repeats),
        "decode big": best_of(lambda: rasterize_forward(*params, big), max(1, repeats // 3)),
        "launches": len(launches),
        "longest": max(launches) * 1000.0,
    }


def worker() -> None:
    """Answer one JSON request per stdin line with one JSON line: a long-lived side of a comparison."""
    from lgi_kernels import ensure_backend

    ensure_backend("cpu")
    for line in sys.stdin:
        print(json.dumps(_measure_here(json.loads(line))), flush=True)


def _side(python: str, threads: int | None) -> Side:
    """A worker process running one checkout's kernels, with ``threads`` CPU threads (None: all)."""
    env = dict(os.environ)
    if threads:
        env["TI_CPU_MAX_NUM_THREADS"] = str(threads)  # ti.init reads every option from TI_<NAME>
    return Side(python, str(Path(__file__).resolve()), env)


def _best(results: list[dict]) -> dict:
    return {k: min(r[k] for r in results) for k in results[0]}


def compare(
    sides: dict[str, Side], n: int, mode: str, repeats: int, rounds: int, gaussians: str | None = None
) -> dict[str, dict]:
    """Each side's best over ``rounds`` turns, the sides taking turns within each round; ``gaussians``: an
    ``.npz`` of a real fit's Gaussians to draw instead of ``n`` synthetic ones."""
    request = {"n": n, "mode": mode, "repeats": repeats, **({"gaussians": gaussians} if gaussians else {})}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            results[name].append(side.ask(request))
    return {name: _best(r) for name, r in results.items()}


def _row(n: int, mode: str, threads: int | None, got: dict[str, dict]) -> dict[str, str]:
    ours = got["ours"]
    row = {
        "mode": mode,
        "N": f"{n}",
        "threads": f"{threads or 'all'}",
        "fwd ms": f"{ours['fwd']:.1f}",
        "fwd+bwd ms": f"{ours['fwd+bwd']:.1f}",
        "fit step ms": f"{ours['step']:.1f}",
        "fit step CPU ms": f"{ours['step cpu']:.1f}",
        "launches": f"{ours['launches']}",
        "longest launch ms": f"{ours['longest']:.1f}",
        "decode 3840x2560 ms": f"{ours['decode big']:.0f}",
    }
    if "baseline" in got:
        base = got["baseline"]
        row["base fwd+bwd ms"] = f"{base['fwd+bwd']:.1f}"
        row["fwd+bwd speed-up"] = f"{base['fwd+bwd'] / ours['fwd+bwd']:.2f}x"
        row["base fit step ms"] = f"{base['step']:.1f}"
        row["fit step speed-up"] = f"{base['step'] / ours['step']:.2f}x"
        row["base fit step CPU ms"] = f"{base['step cpu']:.1f}"
        row["CPU speed-up"] = f"{base['step cpu'] / ours['step cpu']:.2f}x"
        row["base launches"] = f"{base['launches']}"
        row["base decode big ms"] = f"{base['decode big']:.0f}"
    return row


def _saved_gaussians(path: Path) -> tuple[str, int, tuple[int, int]]:
    """A .lgi file's Gaussians (as decoded) in a temporary .npz that every side's worker can read, their
    count and the picture's size: real fits' Gaussians cost the kernels more than the synthetic ones (larger,
    more overlap; docs/kernels.md)."""
    from lgi_studio.io.lgi_format import read_lgi

    g = read_lgi(path).gaussians()
    npz = Path(tempfile.mkdtemp(prefix="render_speed-")) / "gaussians.npz"
    names = ("means", "chol", "colors", "opacities")
    arrays = {k: np.ascontiguousarray(getattr(g, k), dtype=np.float32) for k in names}
    np.savez(npz, size=np.array(g.native_size), **arrays)
    return str(npz), len(g), g.native_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--baseline", default=None, help="a venv whose lgi_kernels is measured alongside")
    parser.add_argument("--counts", default=None, help="comma-separated Gaussian counts")
    parser.add_argument("--modes", default="sum,alpha", help="sum, alpha or both")
    parser.add_argument("--threads", default="", help="comma-separated CPU thread counts (default: all)")
    parser.add_argument("--rounds", type=int, default=None, help="turns per side (best of all kept)")
    parser.add_argument("--gaussians", type=Path, default=None, help="a .lgi whose Gaussians are drawn instead")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    counts = [int(c) for c in args.counts.split(",")] if args.counts else None
    counts = counts or ([5000, 20000] if args.quick else [1000, 5000, 10000, 20000, 50000])
    repeats, rounds = (3, 3) if args.quick else (5, 5)
    rounds = args.rounds or rounds
    saved = None
    if args.gaussians:
        saved, n, (width, height) = _saved_gaussians(args.gaussians)
        counts = [n]
        print(f"CPU backend, {args.gaussians.name}'s {n} Gaussians at {width}x{height}", end="")
    else:
        print(f"CPU backend, image {WIDTH}x{HEIGHT}, sigma 1-6 px", end="")
    print(f"; load average before: {os.getloadavg()}")
    rows = []
    for threads in [int(t) for t in args.threads.split(",") if t] or [None]:
        sides = {"ours": _side(sys.executable, threads)}
        if args.baseline:
            sides["baseline"] = _side(str(Path(args.baseline) / "bin" / "python"), threads)
        for mode in args.modes.split(","):
            for n in counts:
                rows.append(_row(n, mode, threads, compare(sides, n, mode, repeats, rounds, saved)))
        for side in sides.values():
            side.close()
    print_table(rows)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
