"""The codec in one place: a picture in, ``.lgi`` bytes out, and back (docs/api.md).

``encode`` / ``decode`` / ``read_info`` are the contract for other programs, after CompressAI's
``compress``/``decompress``. Underneath, one pipeline: ``fit_picture`` (the fit), then ``pack`` (quantize,
refit the colours for the quantized positions and shapes, entropy-code, wrap in the container).
``encode_image`` runs both, or the search for a target size or PSNR (``lgi_studio.targets``). The CLI, the
self-test, the batch, the benchmarks and the GUI's engine call these, so what is tested is what ships.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lgi_studio import __version__

if TYPE_CHECKING:
    from PIL import Image

    from lgi_studio.core.fit import FitConfig, FitProgress, FitResult
    from lgi_studio.core.model import Gaussians
    from lgi_studio.core.schemes import Quantized
    from lgi_studio.io.lgi_format import LgiFile
    from lgi_studio.targets import Target, TargetReport

Progress = Callable[["FitProgress"], None]
"""Called once per fit iteration; raising (KeyboardInterrupt included) stops the fit, nothing is written."""


@dataclass(frozen=True)
class Encoded:
    """A ``.lgi`` file's bytes and how they came about."""

    data: bytes
    quantized: Quantized
    render: np.ndarray  # [H, W, 3] float32: what a decoder shows at native size
    psnr: float  # 8-bit RGB PSNR of that render against the picture
    fit: FitResult | None = None
    target: TargetReport | None = None

    @property
    def bpp(self) -> float:
        width, height = self.quantized.native_size
        return 8 * len(self.data) / (width * height)


def as_picture(image: str | os.PathLike[str] | Image.Image | np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float32 RGB in [0, 1] from a path, a PIL image or an array (uint8, uint16 or float in
    [0, 1]); EXIF orientation applied and alpha composited over white, as ``io.images`` does for files."""
    from PIL import Image

    from lgi_studio.io.images import load_image, picture_from_pil

    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if isinstance(image, Image.Image):
        return picture_from_pil(image)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        msg = f"a picture array must be [H, W, 3], got shape {arr.shape}"
        raise ValueError(msg)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all():
        msg = f"a picture array must be uint8, uint16 or finite float in [0, 1], got {arr.dtype}"
        raise ValueError(msg)
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def fit_picture(image: np.ndarray, cfg: FitConfig, progress: Progress | None = None) -> FitResult:
    """Run ``core.fit.fit`` to the end, reporting each step to ``progress``."""
    from lgi_studio.core import fit as fit_module

    stream = fit_module.fit(image, cfg)
    try:
        while True:
            try:
                step = next(stream)
            except StopIteration as done:
                return done.value
            if progress is not None:
                progress(step)
    finally:
        stream.close()


def settings_record(cfg: FitConfig, psnr: float) -> dict[str, Any]:
    """What ``--metadata`` records in the file: the encoder, its settings and the PSNR reached."""
    return {
        "encoder": f"lgi-studio {__version__}",
        "iterations": cfg.total_iterations,
        "preset": cfg.preset,
        "qa_training": cfg.qa_training,
        "seed": cfg.seed,
        "psnr": round(psnr, 3),
    }


def pack(
    gaussians: Gaussians,
    image: np.ndarray,
    cfg: FitConfig,
    *,
    quantized: Quantized | None = None,
    metadata: dict | None = None,
    record_settings: bool = False,
) -> Encoded:
    """Quantize fitted Gaussians, refit their colours for the quantized geometry, and pack a ``.lgi``.

    ``quantized``: symbols to start from instead of quantizing afresh (QA's, or the GUI slider's codebook).
    ``record_settings`` adds ``settings_record`` to ``metadata``.
    """
    from lgi_studio.core.fit import quantize_for_file
    from lgi_studio.core.registry import REGISTRY

    scheme = quantized.scheme if quantized is not None else cfg.scheme
    codebook = cfg.codebook_size if REGISTRY[scheme].sized_codebook else None
    final = quantize_for_file(
        gaussians, image, cfg.mode, scheme, codebook, cfg.seed, quantized, cfg.quant_steps, cfg.rd_prune
    )
    return _encoded(final, image, cfg, metadata, record_settings)


def pack_fit(result: FitResult, image: np.ndarray, **options: Any) -> Encoded:
    """``pack`` a finished fit: the file ``FitResult.final_quantized`` chooses (after QA, the better of the
    QA symbols and post-hoc quantization at equal bytes)."""
    encoded = _encoded(result.final_quantized(image), image, result.config, **options)
    return Encoded(encoded.data, encoded.quantized, encoded.render, encoded.psnr, result)


def _encoded(
    final: Quantized, image: np.ndarray, cfg: FitConfig, metadata: dict | None = None, record_settings: bool = False
) -> Encoded:
    """The ``.lgi`` bytes of quantized Gaussians, with their render and PSNR."""
    from lgi_studio.core.metrics import psnr_8bit
    from lgi_studio.core.schemes import scheme_of
    from lgi_studio.io.lgi_format import encode_lgi

    render = scheme_of(final).dequantize(final).render(mode=cfg.mode)
    psnr = psnr_8bit(render, image)
    meta = {**(settings_record(cfg, psnr) if record_settings else {}), **(metadata or {})}
    return Encoded(encode_lgi(final, meta or None), final, render, psnr)


def encode_image(
    image: np.ndarray,
    cfg: FitConfig,
    *,
    target: Target | None = None,
    progress: Progress | None = None,
    metadata: dict | None = None,
    record_settings: bool = False,
) -> Encoded:
    """The whole pipeline on a picture (``as_picture``'s float array): fit, then pack; with a ``target``,
    the search that picks the count and quantization for it (``lgi_studio.targets``)."""
    if target is not None:
        from lgi_studio.targets import encode_to_target

        return encode_to_target(image, cfg, target, progress, metadata=metadata, record_settings=record_settings)
    result = fit_picture(image, cfg, progress)
    return pack_fit(result, image, metadata=metadata, record_settings=record_settings)


def build_config(
    *,
    count: int | None = None,
    preset: str = "balanced",
    qa: bool = False,
    scheme: str | None = None,
    seed: int = 0,
    **options: Any,
) -> FitConfig:
    """A ``FitConfig`` from the API's names; ``options`` are any other ``FitConfig`` field (``iterations``,
    ``codebook_size``, ``mode``, ...). ``count=None``: chosen from the picture."""
    from lgi_studio.core.fit import FitConfig
    from lgi_studio.core.registry import DEFAULT_SCHEME

    return FitConfig(count=count, preset=preset, qa_training=qa, scheme=scheme or DEFAULT_SCHEME, seed=seed, **options)


def encode(
    image: str | os.PathLike[str] | Image.Image | np.ndarray,
    *,
    count: int | None = None,
    target_size: int | str | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
    preset: str = "balanced",
    qa: bool = False,
    scheme: str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    backend: str | None = None,
    metadata: dict | None = None,
    **options: Any,
) -> bytes:
    """Encode a picture as the bytes of a ``.lgi`` file.

    ``count`` Gaussians, or one target: ``target_size`` (bytes, or text such as ``"20KB"``: the file is at
    most that and at least 95% of it), ``target_bpp`` (the same, in bits per pixel) or ``target_psnr`` (dB:
    the smallest file found that reaches it). With none of them the count follows the picture's complexity.
    ``options``: other ``FitConfig`` fields (``iterations``, ``codebook_size``, ``mode``, ``quant_steps``).
    Raises ``ValueError`` for settings that cannot work, ``io.errors.ImageReadError`` for a bad picture.
    """
    from lgi_studio.targets import Target

    picture = as_picture(image)
    height, width = picture.shape[:2]
    target = Target.from_options(target_size, target_bpp, target_psnr, width, height)
    if target is not None and count is not None:
        msg = "give a Gaussian count or a target, not both"
        raise ValueError(msg)
    cfg = build_config(count=count, preset=preset, qa=qa, scheme=scheme, seed=seed, **options)
    start_backend(backend)
    return encode_image(picture, cfg, target=target, progress=progress, metadata=metadata).data


def start_backend(name: str | None = None) -> str:
    """Start the kernels (once per process) and return the backend's name."""
    from lgi_kernels import ensure_backend

    return ensure_backend(name).name


def _lgi(data: bytes | str | os.PathLike[str]):
    from lgi_studio.io.lgi_format import decode_lgi, read_lgi

    if isinstance(data, (str, os.PathLike)):
        return read_lgi(Path(data))
    return decode_lgi(bytes(data))


def decode(
    data: bytes | str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    viewport: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Render a ``.lgi`` file (its bytes, or a path) as ``[H, W, 3]`` uint8 RGB.

    ``viewport`` = ``(x0, y0, x1, y1)``, a part of the picture in [0, 1] coordinates (default the whole
    picture). Without ``width``/``height`` the render has the viewport's native pixel size; with one of them
    the other keeps the aspect. Raises ``io.lgi_format.LgiFormatError`` for a file that is not valid.
    """
    from lgi_kernels import Viewport
    from lgi_studio.io.images import to_uint8

    lgi = _lgi(data)
    view = Viewport(*viewport) if viewport is not None else Viewport()
    out_w, out_h = _render_size(lgi.header.width * (view.x1 - view.x0), lgi.header.height * (view.y1 - view.y0))
    if width or height:
        out_w, out_h = width or round(height * out_w / out_h), height or round(width * out_h / out_w)
    if not (1 <= out_w <= 32768 and 1 <= out_h <= 32768):
        msg = f"render size {out_w}x{out_h} is outside 1..32768 pixels per side"
        raise ValueError(msg)
    start_backend()
    return to_uint8(lgi.gaussians().render(max(1, out_w), max(1, out_h), mode=lgi.header.mode, viewport=view))


def _render_size(width: float, height: float) -> tuple[int, int]:
    return max(1, round(width)), max(1, round(height))


def read_info(data: bytes | str | os.PathLike[str]) -> dict[str, Any]:
    """What a ``.lgi`` file holds, without rendering it: size, count, scheme, bytes, bpp, metadata."""
    return describe(_lgi(data))


def describe(lgi: LgiFile) -> dict[str, Any]:
    """``read_info`` of a file already read (``lgi info`` adds the lgi family's details)."""
    h = lgi.header
    return {
        "format_version": h.version,
        "width": h.width,
        "height": h.height,
        "gaussians": h.count,
        "render_mode": h.mode.value,
        "scheme": h.scheme,
        "colour_space": h.colour_space,
        "file_bytes": lgi.file_bytes,
        "payload_bytes": lgi.payload_bytes,
        "bpp": round(8 * lgi.file_bytes / (h.width * h.height), 4),
        "bits_per_gaussian": round(8 * lgi.file_bytes / max(1, h.count), 2),
        "metadata": lgi.metadata,
    }


KEPT_METADATA_LIMIT = 512 * 1024
"""Largest ICC profile plus EXIF we carry (base64 in the meta chunk, which readers cap at 1 MB)."""


def carried_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """A picture file's ICC profile and EXIF for the ``.lgi`` meta chunk (base64; ``--keep-metadata``)."""
    import base64

    from lgi_studio.io.images import picture_metadata

    kept = picture_metadata(path)
    if sum(map(len, kept.values())) > KEPT_METADATA_LIMIT:
        msg = f"{path}: its ICC profile and EXIF are over {KEPT_METADATA_LIMIT // 1024} KB, too large to keep"
        raise ValueError(msg)
    return {key: base64.b64encode(value).decode("ascii") for key, value in kept.items()}


def restored_metadata(metadata: dict) -> dict[str, bytes]:
    """The ICC profile and EXIF a ``.lgi`` file carries, as ``io.images.save_image`` embeds them."""
    import base64
    import binascii

    restored = {}
    for key in ("icc_profile", "exif"):
        value = metadata.get(key)
        if isinstance(value, str):
            try:
                restored[key] = base64.b64decode(value, validate=True)
            except binascii.Error:
                continue  # a damaged optional field: the picture is still the picture
    return restored


def write_file(path: str | os.PathLike[str], data: bytes) -> int:
    """Write ``data`` to ``path`` atomically (never half a file, an old one kept until the new is whole)."""
    from lgi_studio.io.atomic import atomic_writer

    with atomic_writer(path) as handle:
        handle.write(data)
    return len(data)
