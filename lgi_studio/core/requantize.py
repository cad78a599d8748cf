"""Re-quantizing a finished (or paused) fit at another codebook size, for the GUI's codebook slider.

The new codebook is warm-started from the previous one: its most used entries when shrinking, all of them
plus picks among the Gaussians when growing, followed by at most ``INTERACTIVE_LLOYD`` Lloyd iterations:
what keeps a slider move near the 300 ms a person notices (benchmarks/qa_vs_baseline.py measures it).
Sizes already visited come from a cache and cost one quantize + render.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgi_kernels import RenderMode

from .metrics import psnr_8bit
from .model import Gaussians
from .quantize import KMEANS_TOL, ResidualVectorQuantizer, VectorQuantizer, check_codebook_size
from .schemes import Quantized, get_scheme

INTERACTIVE_LLOYD = 8
"""Lloyd iterations after a warm start up to 512 entries: the slider trades the last 0.01 dB for answering
fast. Each iteration costs N x K distances, so larger codebooks get proportionally fewer (at least 2)."""


def interactive_lloyd(size: int) -> int:
    return max(2, min(INTERACTIVE_LLOYD, round(INTERACTIVE_LLOYD * 512 / size)))


@dataclass(frozen=True)
class Requantized:
    """A quantized version of a fit and what it costs."""

    quantized: Quantized
    gaussians: Gaussians  # dequantized: what a decoder renders
    render: np.ndarray  # [H, W, 3] float32
    psnr: float  # 8-bit RGB, against the original picture
    psnr_loss: float  # dB lost against the unquantized Gaussians
    bytes: int  # payload size of the scheme (container overhead not included)
    bpp: float


def _resized_init(book: np.ndarray, index: np.ndarray, size: int, vectors: np.ndarray, seed: int) -> np.ndarray:
    """A starting codebook of ``size`` entries built from a previous one."""
    counts = np.bincount(index, minlength=len(book))
    if size <= len(book):
        return book[np.argsort(-counts, kind="stable")[:size]]
    rng = np.random.default_rng(seed)
    extra = vectors[rng.choice(len(vectors), size - len(book), replace=False)]
    return np.concatenate([book, extra])


def _warm_state(scheme_name: str, g: Gaussians, mode: RenderMode, size: int, previous: Quantized, seed: int) -> dict:
    """Train the scheme's colour codebook(s) at ``size``, starting from ``previous``'s."""
    scheme = get_scheme(scheme_name)
    if scheme_name != "lgi" or previous.scheme != "lgi":
        return scheme.train(g, mode, size, seed=seed)
    stages, residual = [], g.colors.astype(np.float32)
    for k, old in enumerate(previous.state["color"].stages):
        init = _resized_init(old.codebook, previous.symbols["color"][:, k], size, residual, seed + k)
        stage = VectorQuantizer.train(
            residual, size, seed=seed + k, init=init, max_iter=interactive_lloyd(size), tol=max(KMEANS_TOL, 1e-4)
        )
        residual = residual - stage.dequantize(stage.quantize(residual))
        stages.append(stage)
    state = {"color": ResidualVectorQuantizer(stages)}
    scheme.snap(state)
    return state


def codebook_state(
    gaussians: Gaussians,
    mode: RenderMode,
    codebook_size: int,
    scheme: str = "lgi",
    previous: Quantized | None = None,
    seed: int = 0,
) -> dict:
    """The trained quantizer state ``requantize`` uses at ``codebook_size`` (what its ``cache`` holds).

    k-means and NumPy only, no kernel launch: the engine trains these ahead in a thread of its own while it
    answers commands (``engine.warmup``).
    """
    check_codebook_size(codebook_size, len(gaussians))
    if previous is not None and previous.n == len(gaussians):
        return _warm_state(scheme, gaussians, mode, codebook_size, previous, seed)
    return get_scheme(scheme).train(gaussians, mode, codebook_size, seed=seed)


def requantize(
    gaussians: Gaussians,
    image: np.ndarray,
    mode: RenderMode,
    codebook_size: int,
    scheme: str = "lgi",
    previous: Quantized | None = None,
    seed: int = 0,
    reference_psnr: float | None = None,
    cache: dict[int, dict] | None = None,
) -> Requantized:
    """Quantize ``gaussians`` with a codebook of ``codebook_size`` entries; render and measure the result.

    ``previous`` warm-starts the codebook; ``reference_psnr`` (of the unquantized render) saves a render;
    ``cache`` maps sizes to trained quantizer states, filled as sizes are visited (the caller owns it and
    drops it when the Gaussians change).
    """
    check_codebook_size(codebook_size, len(gaussians))
    chosen = get_scheme(scheme)
    if cache is not None and codebook_size in cache:
        state = cache[codebook_size]
    else:
        state = codebook_state(gaussians, mode, codebook_size, scheme, previous, seed)
    if cache is not None:
        cache[codebook_size] = state
    quantized = chosen.quantize(gaussians, mode, state)
    decoded = chosen.dequantize(quantized)
    render = decoded.render(mode=mode)
    size = len(chosen.pack(quantized))
    psnr = psnr_8bit(render, image)
    reference = reference_psnr if reference_psnr is not None else psnr_8bit(gaussians.render(mode=mode), image)
    height, width = image.shape[:2]
    return Requantized(quantized, decoded, render, psnr, reference - psnr, size, 8 * size / (width * height))
