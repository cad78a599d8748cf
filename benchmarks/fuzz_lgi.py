"""A longer mutation fuzz of the .lgi reader than CI runs: only LgiFormatError may come out.

Run: ``python benchmarks/fuzz_lgi.py --cases 200000`` (prints how many cases ran and how they ended).
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from lgi_kernels import RenderMode
from lgi_studio.core.model import Gaussians
from lgi_studio.core.schemes import SCHEMES, get_scheme
from lgi_studio.io.lgi_format import LgiFormatError, decode_lgi, encode_lgi


def seed_files(rng: np.random.Generator) -> list[bytes]:
    files = []
    for name in SCHEMES:
        for mode in RenderMode:
            n = int(rng.integers(8, 200))
            g = Gaussians(
                rng.uniform(-0.05, 1.05, (n, 2)),
                np.abs(rng.normal(0.03, 0.02, (n, 3))),
                rng.normal(0.5, 0.3, (n, 3)),
                rng.uniform(0, 1, n),
                (int(rng.integers(8, 800)), int(rng.integers(8, 800))),
            )
            scheme = get_scheme(name)
            q = scheme.quantize(g, mode, scheme.train(g, mode, min(16, n)))
            files.append(encode_lgi(q, metadata={"seed": name} if rng.random() < 0.5 else None))
    return files


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 8))):
        pos = int(rng.integers(len(out))) if out else 0
        action = rng.integers(5)
        if action == 0 and out:
            out[pos] = int(rng.integers(256))
        elif action == 1 and out:
            del out[pos]
        elif action == 2:
            out.insert(pos, int(rng.integers(256)))
        elif action == 3 and out:
            out[pos] ^= 1 << int(rng.integers(8))
        else:
            del out[pos:]
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    files = seed_files(rng)
    outcomes: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    for _ in range(args.cases):
        data = mutate(files[rng.integers(len(files))], rng)
        try:
            decode_lgi(data)
            outcomes["decoded (mutation kept the file valid)"] += 1
        except LgiFormatError:
            outcomes["LgiFormatError"] += 1
    seconds = time.perf_counter() - start
    print(f"{args.cases} cases in {seconds:.0f} s, seed {args.seed}; no other exception escaped")
    for outcome, n in outcomes.most_common():
        print(f"  {outcome}: {n}")


if __name__ == "__main__":
    main()
