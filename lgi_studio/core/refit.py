"""Least-squares colours for quantized geometry: the last step of quantizing a sum-mode fit.

A sum render is linear in the colours: ``render = F c`` with ``F`` fixed by the positions and shapes. Once
those are quantized, the best colours for them are a linear least-squares problem, solved here by conjugate
gradients on the normal equations (CGLS), each product with ``F`` or ``F^T`` being one forward or backward
launch of the rasterizer. Colours may be free per Gaussian (then quantized by a scalar scheme) or decoded
through codebooks (then the unknowns are the codebook entries and the assignments stay). Measured on
kodim23, N=3000: quantizing positions and shapes cost 1.2 dB with the fitted colours and 0.4 dB with refitted
ones (docs/quantization.md).

Each solve also comes as a generator of steps (``*_steps``) that yields after every launch, so the GUI's
engine can answer its commands between launches while it measures a file (``engine.measure``); a step may
instead yield a callable of NumPy/scikit-learn work (no launch) for the driver to run off its thread and
send the result back. ``run_steps`` drives one to the end in place: the plain functions are that.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

import numpy as np

from lgi_kernels import RenderMode, rasterize_backward_colours, rasterize_forward, rasterize_forward_colours

from .model import Gaussians
from .schemes import CodebookUse, Quantized, Scheme

REFIT_ITERATIONS = 25
"""CGLS iterations: on Kodak at N=3000 the PSNR gain is within 0.05 dB of 60 iterations' after 20."""
ROUNDING_GROUPS = 4
"""Groups of Gaussians whose colours are rounded in turn, the later ones refit to absorb the earlier ones'
rounding: 4 gained 0.03-0.05 dB on Kodak crops where 2 gained 0.01-0.03 and 8 no more than 4."""
COMPENSATION_ITERATIONS = 10
"""CGLS iterations after each group is rounded (it starts from the previous solution)."""
T = TypeVar("T")
Steps = Generator[Callable[[], Any] | None, Any, T]
"""Work in steps: yields None between any two kernel launches, or a launch-free callable it wants the result of."""


def run_steps(steps: Steps[T]) -> T:
    """Drive ``steps`` to its end on this thread (callables called in place); returns its value."""
    answer = None
    while True:
        try:
            request = steps.send(answer)
        except StopIteration as done:
            return done.value
        answer = request() if request is not None else None


def _cgls_steps(
    forward: Callable[[np.ndarray], np.ndarray],
    adjoint: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    target: np.ndarray,
    iterations: int,
) -> Steps[np.ndarray]:
    """Minimize ||forward(x) - target||^2 from ``x`` by conjugate gradients on the normal equations, a step
    per product with ``forward`` or ``adjoint`` (one launch each)."""
    x = x.astype(np.float64)
    residual = target - forward(x)
    yield None
    s = adjoint(residual)
    p = s.copy()
    gamma = float((s * s).sum())
    for _ in range(iterations):
        yield None
        q = forward(p)
        qq = float((q * q).sum())
        if gamma <= 0.0 or qq <= 0.0:
            break
        alpha = gamma / qq
        x += alpha * p
        residual -= alpha * q
        yield None
        s = adjoint(residual)
        gamma, previous = float((s * s).sum()), gamma
        p = s + (gamma / previous) * p
    return x


def _masked_cgls_steps(
    forward: Callable[[np.ndarray], np.ndarray],
    adjoint: Callable[[np.ndarray], np.ndarray],
    colours: np.ndarray,
    free: np.ndarray,
    image: np.ndarray,
    iterations: int,
) -> Steps[np.ndarray]:
    """``colours`` with the ``free`` rows re-solved by least squares for ``image``, the others held."""
    held = colours * ~free[:, None]
    target = image - forward(held)
    yield None
    solved = yield from _cgls_steps(
        lambda x: forward(x * free[:, None]),
        lambda r: adjoint(r) * free[:, None],
        colours * free[:, None],
        target,
        iterations,
    )
    return np.where(free[:, None], solved, colours)


def _operators(geometry: Gaussians) -> tuple[Callable, Callable]:
    """``colours -> render`` and its adjoint ``image -> per-Gaussian colour gradient`` for fixed geometry:
    binned once, then the rasterizer's colour-only passes (the same bits as full renders and backward
    passes, for less work)."""
    settings = geometry.raster_settings(mode=RenderMode.ACCUMULATED_SUM)
    _, ctx = rasterize_forward(geometry.means, geometry.chol, geometry.colors, geometry.opacities, settings)

    def forward(colours: np.ndarray) -> np.ndarray:
        return rasterize_forward_colours(ctx, colours.astype(np.float32)).astype(np.float64)

    def adjoint(image: np.ndarray) -> np.ndarray:
        # the backward pass of a loss whose image gradient is ``image``: v_colors = F^T image
        return rasterize_backward_colours(ctx, image.astype(np.float32)).astype(np.float64)

    return forward, adjoint


def refit_colours(geometry: Gaussians, image: np.ndarray, iterations: int = REFIT_ITERATIONS) -> np.ndarray:
    """Per-Gaussian colours that best render ``image`` with ``geometry``'s positions and shapes (sum mode),
    starting from its colours."""
    return run_steps(refit_colours_steps(geometry, image, iterations))


def refit_colours_steps(
    geometry: Gaussians, image: np.ndarray, iterations: int = REFIT_ITERATIONS
) -> Steps[np.ndarray]:
    """``refit_colours`` in steps (``Steps``)."""
    forward, adjoint = _operators(geometry)
    yield None
    colours = yield from _cgls_steps(forward, adjoint, geometry.colors, image, iterations)
    return colours.astype(np.float32)


def refit_codebooks(
    geometry: Gaussians, uses: list[CodebookUse], image: np.ndarray, iterations: int = REFIT_ITERATIONS
) -> None:
    """Codebook entries (colour columns, in place) that best render ``image`` with the assignments kept: the
    colours are ``sum_k book_k[index_k]``, still linear in the entries."""
    run_steps(refit_codebooks_steps(geometry, uses, image, iterations))


def refit_codebooks_steps(
    geometry: Gaussians, uses: list[CodebookUse], image: np.ndarray, iterations: int = REFIT_ITERATIONS
) -> Steps[None]:
    """``refit_codebooks`` in steps (``Steps``)."""
    forward_colours, adjoint_colours = _operators(geometry)
    yield None
    sizes = [len(use.book) for use in uses]
    splits = np.cumsum(sizes)[:-1]

    def colours(x: np.ndarray) -> np.ndarray:
        return sum(book[use.index] for book, use in zip(np.split(x, splits), uses, strict=True))

    def adjoint(residual: np.ndarray) -> np.ndarray:
        v = adjoint_colours(residual)
        return np.concatenate(
            [
                np.stack([np.bincount(use.index, weights=v[:, c], minlength=size) for c in range(3)], axis=1)
                for use, size in zip(uses, sizes, strict=True)
            ]
        )

    start = np.concatenate([use.book for use in uses])
    solved = yield from _cgls_steps(lambda x: forward_colours(colours(x)), adjoint, start, image, iterations)
    for use, book in zip(uses, np.split(solved, splits), strict=True):
        use.book[:] = book


def quantize_colours_compensated(
    geometry: Gaussians,
    scheme: Scheme,
    state: dict,
    image: np.ndarray,
    groups: int = ROUNDING_GROUPS,
    iterations: int = COMPENSATION_ITERATIONS,
) -> Quantized:
    """``quantize_colours_compensated_steps`` driven to its end here."""
    return run_steps(quantize_colours_compensated_steps(geometry, scheme, state, image, groups, iterations))


def quantize_colours_compensated_steps(
    geometry: Gaussians,
    scheme: Scheme,
    state: dict,
    image: np.ndarray,
    groups: int = ROUNDING_GROUPS,
    iterations: int = COMPENSATION_ITERATIONS,
) -> Steps[Quantized]:
    """Quantize a scalar colour scheme's colours group by group (sum mode): each group is rounded and held,
    then the colours not yet rounded are refit so that they absorb its rounding error (what GPTQ does for
    network weights). The smallest Gaussians go first: the big ones, refit last, cover what they leave.
    ``geometry`` holds the quantized positions and shapes with float (refit) colours. Nothing changes for
    the decoder: it reads the same symbols."""
    forward, adjoint = _operators(geometry)
    yield None
    chol = geometry.chol.astype(np.float64)
    order = np.argsort(np.abs(chol[:, 0] * chol[:, 2]), kind="stable")  # sqrt(det) of the covariance
    colours = geometry.colors.astype(np.float64)
    free = np.ones(len(colours), bool)
    for k, part in enumerate(np.array_split(order, groups)):
        trial = Gaussians(
            geometry.means, geometry.chol, colours.astype(np.float32), geometry.opacities, geometry.native_size
        )
        colours[part] = scheme.dequantize(scheme.quantize(trial, RenderMode.ACCUMULATED_SUM, state)).colors[part]
        free[part] = False
        if k + 1 < groups and free.any():
            colours = yield from _masked_cgls_steps(forward, adjoint, colours, free, image, iterations)
    final = Gaussians(
        geometry.means, geometry.chol, colours.astype(np.float32), geometry.opacities, geometry.native_size
    )
    return scheme.quantize(final, RenderMode.ACCUMULATED_SUM, state)
