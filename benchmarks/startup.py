"""Cold and warm start of the kernels: spawn + import + ti.init + compile + first render.

Run: ``python benchmarks/startup.py``. The first run uses an empty Taichi offline cache (everything is
compiled), the next ones reuse it, as a second start of the app does.
"""

import statistics
import subprocess
import sys
import tempfile
import time

CHILD = """
import numpy as np
from lgi_kernels import RasterSettings, RenderMode, ensure_backend, rasterize_backward, rasterize_forward
info = ensure_backend()
p = (np.full((4, 2), 0.5), np.full((4, 3), [0.1, 0.0, 0.1]), np.ones((4, 3)), np.ones(4))
for mode in RenderMode:
    img, ctx = rasterize_forward(*p, RasterSettings(64, 48, mode=mode))
    rasterize_backward(ctx, img)
print(info.name)
"""


def run_once(cache: str) -> tuple[float, str]:
    env_cmd = [sys.executable, "-c", CHILD]
    start = time.perf_counter()
    out = subprocess.run(env_cmd, check=True, capture_output=True, text=True, env=_env(cache))
    return time.perf_counter() - start, out.stdout.strip()


def _env(cache: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["TI_OFFLINE_CACHE_FILE_PATH"] = cache
    return env


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold, backend = run_once(cache)
        warm = [run_once(cache)[0] for _ in range(3)]
    print(f"backend: {backend}")
    print("| start | seconds |")
    print("|-------|---------|")
    print(f"| cold (empty kernel cache) | {cold:.2f} |")
    print(f"| warm (median of 3) | {statistics.median(warm):.2f} |")


if __name__ == "__main__":
    main()
