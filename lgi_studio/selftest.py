"""``lgi-studio --self-test`` and ``lgi self-test``: show that this installation can do its job.

Three checks, in order, on a small synthetic picture; the first failure ends the test:

1. *encode*: a short fit on the CPU backend in this process. Taichi compiles our kernels from their Python
   source at run time, so an installation (or a frozen bundle) that lacks that source fails here.
2. *file*: the result written as ``.lgi``, read back, and rendered the same as before writing.
3. *engine*: a short fit in a spawned engine process, exactly as the desktop app runs it, exported as
   ``.lgi`` from there. A frozen app that does not call ``multiprocessing.freeze_support()`` first thing
   fails here (its child starts the app again instead of the engine).

No Qt is imported: the engine (``lgi_studio.engine``) has none.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lgi_studio import __version__

WIDTH, HEIGHT = 32, 32
COUNT = 30
ITERATIONS = 30
MIN_PSNR = 20.0
"""A 30-iteration fit of the synthetic picture reaches about 25 dB; far below means broken kernels."""
ENGINE_TIMEOUT_S = 120.0
"""Spawn, import, ti.init and a tiny fit: a few seconds on a laptop, generous for a loaded machine."""


class SelfTestError(Exception):
    """One check failed; the message says which and why."""


def synthetic_picture(path: Path) -> Path:
    """Write a smooth gradient with a red square (something a few Gaussians can fit) as PNG."""
    from PIL import Image

    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([xx * 7, yy * 7, (xx + yy) * 3], -1).astype(np.uint8)  # [H, W, 3]
    rgb[8:18, 6:20] = [230, 40, 40]
    Image.fromarray(rgb).save(path)
    return path


def check_encode(picture: Path, output: Path) -> str:
    """Checks 1 and 2: encode in this process on the CPU through the codec's one pipeline (fit, quantize,
    colour refit, pack), write the .lgi, read it back, compare renders."""
    from lgi_kernels import ensure_backend
    from lgi_studio import codec
    from lgi_studio.core.fit import FitConfig
    from lgi_studio.io.images import load_image
    from lgi_studio.io.lgi_format import read_lgi

    backend = ensure_backend("cpu")
    image = load_image(picture)
    cfg = FitConfig(count=COUNT, iterations=ITERATIONS, qa_training=True, scheme="lgi", seed=0)
    encoded = codec.encode_image(image, cfg)
    if encoded.psnr < MIN_PSNR:
        msg = f"encode: PSNR {encoded.psnr:.2f} dB after {ITERATIONS} iterations, expected at least {MIN_PSNR} dB"
        raise SelfTestError(msg)
    size = codec.write_file(output, encoded.data)
    lgi = read_lgi(output)
    again = lgi.gaussians().render(mode=lgi.header.mode)
    if lgi.header.count != encoded.quantized.n or not np.allclose(again, encoded.render, atol=1e-6):
        msg = f"file: {output.name} does not read back as written"
        raise SelfTestError(msg)
    return (
        f"encode: {encoded.quantized.n} Gaussians, {ITERATIONS} iterations on {backend.name}, "
        f"PSNR {encoded.psnr:.2f} dB, {encoded.fit.elapsed:.1f} s\nfile:   {size} bytes written, read back, same render"
    )


def check_engine(picture: Path, output: Path) -> str:
    """Check 3: a fit and an export in a spawned engine process, driven through the client the GUI uses."""
    from lgi_studio.engine.client import EngineClient, EngineError, EngineGoneError, EngineTimeoutError
    from lgi_studio.engine.commands import Export, Fit
    from lgi_studio.engine.events import Exported, Finished

    start = time.monotonic()
    client = EngineClient().start()
    try:
        config = {"count": COUNT, "iterations": ITERATIONS, "qa_training": True, "scheme": "lgi", "seed": 0}
        client.send(Fit(str(picture), config, backend="cpu"))
        finished = client.wait_for(Finished, ENGINE_TIMEOUT_S)
        client.send(Export(str(output)))
        exported = client.wait_for(Exported, ENGINE_TIMEOUT_S)
    except (EngineError, EngineGoneError, EngineTimeoutError) as exc:
        msg = f"engine: {exc}"
        raise SelfTestError(msg) from None
    finally:
        code = client.stop(10.0)
        client.close()
    if code != 0:
        msg = f"engine: the process did not quit cleanly (exit code {code})"
        raise SelfTestError(msg)
    return (
        f"engine: fit in a spawned process, PSNR {finished.psnr:.2f} dB, exported {exported.bytes} bytes, "
        f"{time.monotonic() - start:.1f} s"
    )


def run_self_test(folder: Path | None = None, engine: bool = True, say: Callable[[str], None] = print) -> int:
    """Run the checks in ``folder`` (a fresh temporary folder when None); 0 when all pass, else 1."""
    frozen = "frozen bundle" if getattr(sys, "frozen", False) else "Python package"
    say(f"LGI Studio {__version__} self-test ({frozen}, Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="lgi-self-test-") as scratch:
        where = Path(folder) if folder is not None else Path(scratch)
        start = time.monotonic()
        try:
            picture = synthetic_picture(where / "picture.png")
            say(check_encode(picture, where / "in-process.lgi"))
            if engine:
                say(check_engine(picture, where / "engine.lgi"))
        except SelfTestError as exc:
            say(f"self-test FAILED: {exc}")
            return 1
        except Exception as exc:  # noqa: BLE001 - a broken installation may raise anything; show it all
            say(traceback.format_exc().rstrip())
            say(f"self-test FAILED: {type(exc).__name__}: {exc}")
            return 1
    say(f"self-test passed in {time.monotonic() - start:.1f} s")
    return 0
