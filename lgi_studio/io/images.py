"""Reading pictures into float RGB and writing renders out, with Pillow.

What we do with each kind of input:
- grayscale, palette, CMYK, 16-bit and float images are converted to RGB floats in [0, 1]; 16-bit
  grayscale and float data keep their precision (scaled, not truncated to 8 bits first), and so do 16-bit
  colour and grey+alpha PNGs, which Pillow alone would cut to 8 bits (``_sixteen_bit_png``); other 16-bit
  colour files (TIFF) and 16-bit colour PIL images arrive at 8 bits per channel, as Pillow holds them;
- alpha is composited over white, the way viewers show a transparent picture (the codec has no alpha);
- EXIF orientation is applied, so the fit matches what a photo viewer shows;
- pictures above ``MAX_PIXELS`` (and Pillow's decompression-bomb check) are refused before decoding.

Renders are written in the format their extension names (``picture_format``); an extension Pillow cannot
write (``.lgi`` included: that is ``lgi encode``'s job) is refused before any work, not written as PNG.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_writer
from .errors import ImageReadError, OutputWriteError

MAX_PIXELS = 64_000_000
"""Largest picture we fit (64 MP): the pixels alone are 768 MB as float32 RGB."""


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a picture as ``[H, W, 3]`` float32 RGB in [0, 1]; raise ``ImageReadError`` with a clear message."""
    p = Path(path)
    if not p.exists():
        msg = f"{p}: no such file"
        raise ImageReadError(msg)
    if p.is_dir():
        msg = f"{p}: is a folder, not a picture"
        raise ImageReadError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                _check_size(p, im.size)
                deep = _sixteen_bit_png(p, im)
                if deep is not None:
                    return _samples_to_rgb_float(deep)
                im = ImageOps.exif_transpose(im)
                return _to_rgb_float(im)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        msg = f"{p}: refused, the picture is too large to be safe to decode ({exc})"
        raise ImageReadError(msg) from exc
    except UnidentifiedImageError as exc:
        msg = f"{p}: not a picture Pillow can read (PNG, JPEG, WebP, TIFF, BMP, ...)"
        raise ImageReadError(msg) from exc
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        msg = f"{p}: corrupt or truncated picture ({exc})"
        raise ImageReadError(msg) from exc


def _check_size(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        msg = f"{path}: empty picture ({width}x{height})"
        raise ImageReadError(msg)
    if width * height > MAX_PIXELS:
        msg = f"{path}: {width}x{height} is larger than the {MAX_PIXELS // 1_000_000} MP we accept"
        raise ImageReadError(msg)


_OTHER_BYTE = {"RGB;16B": ("RGB;16L",), "RGBA;16B": ("RGBA;16L",), "LA;16B": ()}
"""16-bit PNG raw modes Pillow unpacks to 8 bits (the high byte of each sample), and the raw modes its same
zip decoder unpacks the low bytes with: a ``;16L`` mode reads big-endian samples the wrong way round, so
its "high" byte is the low one. Grey+alpha has no such mode, but Pillow opens it as RGBA, whose plain raw
mode unpacks its 4 bytes a pixel whole."""


def _sixteen_bit_png(path: Path, im: Image.Image) -> np.ndarray | None:
    """A 16-bit colour or grey+alpha PNG's samples, ``[H, W, C]`` uint16 and upright; None for other files.

    Pillow has no 16-bit colour mode, so it would cut these to 8 bits; the fit works in float, where the low
    byte is signal. The runtime dependencies hold no other PNG decoder, so Pillow's own decodes the file
    again with raw modes that keep the bytes it would drop (the filters and Adam7 stay Pillow's)."""
    rawmode = im.tile[0][3] if im.format == "PNG" and len(im.tile) == 1 else None
    if rawmode not in _OTHER_BYTE:
        return None
    if not _OTHER_BYTE[rawmode]:
        return _decoded_as(path, "RGBA").view(">u2").astype(np.uint16)  # [G hi, G lo, A hi, A lo] a pixel
    high = np.asarray(ImageOps.exif_transpose(im)).astype(np.uint16)
    return high << 8 | _decoded_as(path, _OTHER_BYTE[rawmode][0])


def _decoded_as(path: Path, rawmode: str) -> np.ndarray:
    """The PNG at ``path`` decoded with ``rawmode`` in place of its own, upright, as ``[H, W, C]`` uint8."""
    with Image.open(path) as im:
        codec, extents, offset, _ = im.tile[0]
        im.tile = [(codec, extents, offset, rawmode)]
        return np.asarray(ImageOps.exif_transpose(im))


def _samples_to_rgb_float(samples: np.ndarray) -> np.ndarray:
    """16-bit samples ``[H, W, C]`` (grey+alpha, RGB or RGBA) as float RGB in [0, 1], alpha over white."""
    x = samples.astype(np.float32) / np.float32(65535.0)
    if samples.shape[2] == 3:
        return x
    colour, alpha = x[:, :, :-1], x[:, :, -1:]
    return np.ascontiguousarray(np.broadcast_to(colour * alpha + (1.0 - alpha), (*x.shape[:2], 3)))


def _to_rgb_float(im: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to float RGB in [0, 1], compositing alpha over white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        data = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or data.max() > 255 else 255.0
        gray = np.clip(data / peak, 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2).astype(np.float32)
    if im.mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    rgba = np.asarray(im.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    if not has_alpha:
        return np.ascontiguousarray(rgba)
    alpha = rgba[:, :, 3:4]
    return np.ascontiguousarray(rgba[:, :, :3] * alpha + (1.0 - alpha))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float RGB (any range) to displayable 8-bit: clip to [0, 1], round (in one float copy, not three: a
    large render's memory matters)."""
    scaled = np.clip(image, 0.0, 1.0)
    scaled *= 255.0
    scaled += 0.5
    return scaled.astype(np.uint8)


def picture_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of a picture from its header, without decoding it (as ``load_image`` will see it:
    EXIF orientation applied)."""
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such file" if not p.exists() else f"{p}: is not a regular file"
        raise ImageReadError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                width, height = im.size
                orientation = im.getexif().get(0x0112, 1)
    except UnidentifiedImageError as exc:
        msg = f"{p}: not a picture Pillow can read (PNG, JPEG, WebP, TIFF, BMP, ...)"
        raise ImageReadError(msg) from exc
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        msg = f"{p}: corrupt or truncated picture ({exc})"
        raise ImageReadError(msg) from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def picture_format(path: str | os.PathLike[str]) -> str:
    """The Pillow format a render saved at ``path`` is written in: its extension's, PNG when it has none;
    ``OutputWriteError`` for an extension no Pillow writer takes."""
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "PNG"
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None or fmt not in Image.SAVE or fmt == "LGI":
        msg = f"cannot write {path}: {suffix} is not a picture format we write (use .png, .jpg, .webp, .tif, .bmp)"
        raise OutputWriteError(msg)
    return fmt


def image_bytes(path: str | os.PathLike[str], image: np.ndarray, keep: dict[str, bytes] | None = None) -> bytes:
    """A float or uint8 RGB image encoded in ``path``'s format (``picture_format``), with ``keep``'s ICC
    profile and EXIF where given."""
    data = image if image.dtype == np.uint8 else to_uint8(image)
    out = io.BytesIO()
    Image.fromarray(data, "RGB").save(out, format=picture_format(path), **(keep or {}))
    return out.getvalue()


def save_image(path: str | os.PathLike[str], image: np.ndarray, keep: dict[str, bytes] | None = None) -> None:
    """Write a float or uint8 RGB image atomically, in the format its extension names. ``keep``:
    ``icc_profile`` and ``exif`` bytes to embed (``picture_metadata``), where the format has room."""
    data = image_bytes(path, image, keep)
    with atomic_writer(path) as handle:
        handle.write(data)


def picture_from_pil(im: Image.Image) -> np.ndarray:
    """An open PIL image as ``load_image`` reads a file: EXIF orientation applied, float RGB in [0, 1]."""
    _check_size(Path(getattr(im, "filename", "") or "<image>"), im.size)
    return _to_rgb_float(ImageOps.exif_transpose(im))


def picture_metadata(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """A picture file's ICC profile and EXIF (``--keep-metadata``), the EXIF without its orientation tag:
    ``load_image`` has turned the pixels upright already."""
    try:
        with Image.open(path) as im:
            kept = {"icc_profile": bytes(im.info["icc_profile"])} if im.info.get("icc_profile") else {}
            exif = im.getexif()
            exif.pop(ExifTags.Base.Orientation, None)
            if len(exif):
                kept["exif"] = exif.tobytes()
    except (OSError, SyntaxError, ValueError) as exc:
        msg = f"{path}: cannot read its metadata ({exc})"
        raise ImageReadError(msg) from exc
    return kept
