"""The ``lgi`` command line: a thin layer over the engine, headless.

Each subcommand is a function taking the parsed arguments and returning an exit code; ``main(argv)`` is
what the console script and the tests call. Errors a user can cause print one line and exit 2; Ctrl-C
stops cleanly with exit 130 and leaves no half-written file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lgi_studio import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def _start_backend(name: str | None) -> str:
    from lgi_kernels import BackendError, ensure_backend

    try:
        info = ensure_backend(name)
    except BackendError as exc:
        raise CliError(str(exc)) from exc
    return info.name


def _cmd_backend(args: argparse.Namespace) -> int:
    """Start the kernel backend and say which one runs and why."""
    from lgi_kernels import active_backend

    _start_backend(args.backend)
    info = active_backend()
    print(f"{info.name}: {info.reason}")
    return 0


def _check_writable(path: Path) -> None:
    """Fail before a long fit, not after it, when the output cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CliError(f"cannot write {path}: folder {folder} is not writable")
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a folder")


def _cmd_encode(args: argparse.Namespace) -> int:
    """Fit a picture with Gaussians and write the reconstruction."""
    from lgi_kernels import RenderMode
    from lgi_studio.core.fit import FitConfig, fit
    from lgi_studio.core.metrics import ms_ssim, psnr_8bit
    from lgi_studio.core.scheme_names import DEFAULT_SCHEME
    from lgi_studio.io.images import load_image, save_image
    from lgi_studio.io.metrics_files import write_metrics

    output = Path(args.output)
    for path in (output, args.metrics_csv, args.metrics_json):
        if path is not None:
            _check_writable(Path(path))
    try:
        cfg = FitConfig(
            count=None if args.adaptive else args.count,
            preset=args.quality,
            iterations=args.iterations,
            mode=RenderMode.parse(args.render_mode),
            init=args.init,
            loss=args.loss,
            seed=args.seed,
            qa_training=args.qa_training,
            qa_start=args.qa_start,
            scheme=args.scheme or DEFAULT_SCHEME,
            codebook_size=None if args.codebook_size == "auto" else _int_arg(args.codebook_size, "--codebook-size"),
            quant_steps=args.quant_steps,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    image = load_image(args.input)
    backend = _start_backend(args.backend)
    result = _drive_with_progress(fit(image, cfg), quiet=args.quiet)
    if result is None:
        print("lgi: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    height, width = image.shape[:2]
    file_bytes = None
    if output.suffix.lower() == ".lgi":
        quantized = result.final_quantized(image)
        from lgi_studio.core.schemes import scheme_of
        from lgi_studio.io.lgi_format import write_lgi

        render = scheme_of(quantized).dequantize(quantized).render(mode=cfg.mode)
        meta = {
            "encoder": f"lgi-studio {__version__}",
            "iterations": cfg.total_iterations,
            "preset": cfg.preset,
            "qa_training": cfg.qa_training,
            "seed": cfg.seed,
            "psnr": round(psnr_8bit(render, image), 3),
        }
        file_bytes = write_lgi(output, quantized, metadata=meta if args.metadata else None)
    else:
        render = result.gaussians.render(mode=cfg.mode)
        save_image(output, render)
    summary = {
        "input": str(args.input),
        "output": str(output),
        "width": width,
        "height": height,
        "count": len(result.gaussians),
        "render_mode": cfg.mode.value,
        "preset": cfg.preset,
        "iterations": cfg.total_iterations,
        "seed": cfg.seed,
        "backend": backend,
        "psnr": round(result.psnr, 4),
        "ms_ssim": round(ms_ssim(render, image), 6) if min(width, height) > 160 else None,
        "scheme": cfg.scheme if file_bytes else None,
        "file_bytes": file_bytes,
        "bpp": round(8 * file_bytes / (width * height), 4) if file_bytes else None,
        "seconds": round(result.elapsed, 3),
        "iterations_per_second": round(cfg.total_iterations / result.elapsed, 2),
    }
    history = {k: v.tolist() for k, v in result.history.items()}
    if args.metrics_json:
        write_metrics(args.metrics_json, history, summary, fmt="json")
    if args.metrics_csv:
        write_metrics(args.metrics_csv, history, summary, fmt="csv")
    size = f", {file_bytes} bytes ({summary['bpp']} bpp, {cfg.scheme})" if file_bytes else ""
    print(
        f"{output}: {len(result.gaussians)} Gaussians, PSNR {psnr_8bit(render, image):.2f} dB{size}, "
        f"{result.elapsed:.1f} s ({summary['iterations_per_second']} it/s, {backend})"
    )
    return 0


def _int_arg(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{flag} takes a whole number or 'auto', got {text!r}") from None


def _open_lgi(path: str):
    from lgi_studio.io.lgi_format import LgiFormatError, read_lgi

    try:
        return read_lgi(path)
    except LgiFormatError as exc:
        raise CliError(str(exc)) from exc


def _output_size(args: argparse.Namespace, width: int, height: int) -> tuple[int, int]:
    """Output size from --scale or --width/--height, keeping the aspect unless both are given."""
    if args.scale is not None:
        if not 0 < args.scale <= 64:
            raise CliError(f"--scale must be in (0, 64], got {args.scale}")
        out = (round(width * args.scale), round(height * args.scale))
    elif args.width or args.height:
        w = args.width or round(args.height * width / height)
        h = args.height or round(args.width * height / width)
        out = (w, h)
    else:
        out = (width, height)
    if not (1 <= out[0] <= 32768 and 1 <= out[1] <= 32768):
        raise CliError(f"output size {out[0]}x{out[1]} is outside 1..32768 pixels per side")
    return max(1, out[0]), max(1, out[1])


def _cmd_decode(args: argparse.Namespace) -> int:
    """Render a .lgi file to a picture at any size."""
    from lgi_kernels import RenderMode
    from lgi_studio.io.images import save_image

    lgi = _open_lgi(args.input)
    output = Path(args.output)
    _check_writable(output)
    width, height = _output_size(args, lgi.header.width, lgi.header.height)
    mode = RenderMode.parse(args.render_mode) if args.render_mode else lgi.header.mode
    _start_backend(args.backend)
    save_image(output, lgi.gaussians().render(width, height, mode=mode))
    print(f"{output}: {width}x{height} from {lgi.header.count} Gaussians ({mode.value})")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    """Describe a .lgi file without rendering it."""
    lgi = _open_lgi(args.input)
    h = lgi.header
    info = {
        "file": str(args.input),
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
    if h.scheme in ("lgi", "lgi-sq"):
        from lgi_studio.io.lgi_format import scheme_for

        parts = scheme_for(h).pack_parts(lgi.quantized)
        info["bits_by_part"] = {k: round(8 * len(v) / max(1, h.count), 2) for k, v in parts.items()}
        info["lgi_steps"] = {
            "position_px": h.steps.position_px,
            "log2_size": h.steps.log2_size,
            "angle_per_aspect": h.steps.angle_per_aspect,
            "color_stages": h.steps.color_stages,
        }
        if "step" in lgi.quantized.state:  # lgi-sq's colour step (footprint-scaled units), from its colour model
            info["colour_step"] = round(float(lgi.quantized.state["step"]), 4)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for key, value in info.items():
            print(f"{key:>18}: {value}")
    return 0


def _cmd_self_test(args: argparse.Namespace) -> int:
    """Check this installation: a short fit, a .lgi round trip, the engine process."""
    from lgi_studio.selftest import run_self_test

    return run_self_test(engine=not args.no_engine)


def _drive_with_progress(stream, quiet: bool):
    """Pull a fit to the end under a progress bar; None when the user pressed Ctrl-C."""
    from tqdm import tqdm

    bar = None
    try:
        while True:
            try:
                progress = next(stream)
            except StopIteration as done:
                return done.value
            if bar is None:
                bar = tqdm(total=progress.total, unit="it", disable=quiet, dynamic_ncols=True, leave=False)
            bar.set_postfix_str(f"PSNR {progress.psnr:.2f} dB, N={progress.count}", refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        stream.close()
        return None
    finally:
        if bar is not None:
            bar.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lgi", description="LGI Studio: images as 2D Gaussians, headless.")
    parser.add_argument("--version", action="version", version=f"lgi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backend_help = "auto (default: CUDA, Vulkan, Metal, then CPU), cpu, cuda, vulkan or metal; also $LGI_BACKEND"

    backend = commands.add_parser("backend", help="show which compute backend runs here, and why")
    backend.add_argument("--backend", default=None, help=backend_help)
    backend.set_defaults(run=_cmd_backend)

    encode = commands.add_parser("encode", help="fit a picture with Gaussians")
    encode.add_argument("-i", "--input", required=True, help="picture to fit (PNG, JPEG, WebP, TIFF, BMP)")
    encode.add_argument("-o", "--output", required=True, help="where to write: .png writes the reconstruction")
    encode.add_argument("-n", "--count", type=int, default=5000, help="number of Gaussians (default 5000)")
    encode.add_argument("--adaptive", action="store_true", help="choose the count from the picture's complexity")
    encode.add_argument(
        "-q", "--quality", default="balanced", help="preset: fast | balanced | high | ultra (iteration budgets)"
    )
    encode.add_argument("--iterations", type=int, default=None, help="override the preset's iteration count")
    encode.add_argument("--render-mode", default="sum", help="sum (accumulated, default) or alpha")
    encode.add_argument("--init", default="content", help="content (default) or random placement")
    encode.add_argument("--loss", default="l2", help="l2 (default) or l1+ssim")
    encode.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    encode.add_argument("--backend", default=None, help=backend_help)
    encode.add_argument("--metrics-csv", default=None, help="write per-iteration loss/PSNR as CSV")
    encode.add_argument("--metrics-json", default=None, help="write a summary and the history as JSON")
    encode.add_argument(
        "--qa-training",
        action="store_true",
        help="quantization-aware training (for .lgi output; off by default here, on by default in the GUI)",
    )
    encode.add_argument("--qa-start", type=float, default=0.7, help="fraction of the fit where QA starts (0.7)")
    encode.add_argument(
        "--scheme", default=None, help="lgi-sq (default) | lgi | gaussianimage | vq | float32 (lossless)"
    )
    encode.add_argument("--codebook-size", default="auto", help="colour codebook entries, 2-4096, or auto")
    encode.add_argument(
        "--quant-steps", default="auto", help="auto (lgi-sq's steps follow the operating point, default) | fixed"
    )
    encode.add_argument("--metadata", action="store_true", help="record encoder settings and PSNR in the .lgi")
    encode.add_argument("--quiet", action="store_true", help="no progress bar")
    encode.set_defaults(run=_cmd_encode)

    decode = commands.add_parser("decode", help="render a .lgi file at any resolution")
    decode.add_argument("-i", "--input", required=True, help=".lgi file")
    decode.add_argument("-o", "--output", required=True, help="picture to write (.png, .jpg, ...)")
    decode.add_argument("--scale", type=float, default=None, help="output size as a multiple of the original")
    decode.add_argument("--width", type=int, default=None, help="output width (height follows unless given)")
    decode.add_argument("--height", type=int, default=None, help="output height (width follows unless given)")
    decode.add_argument("--render-mode", default=None, help="sum or alpha (default: the file's)")
    decode.add_argument("--backend", default=None, help=backend_help)
    decode.set_defaults(run=_cmd_decode)

    info = commands.add_parser("info", help="describe a .lgi file")
    info.add_argument("input", help=".lgi file")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(run=_cmd_info)

    self_test = commands.add_parser("self-test", help="check this installation (exit 0 when it works)")
    self_test.add_argument("--no-engine", action="store_true", help="skip the check of the GUI's engine process")
    self_test.set_defaults(run=_cmd_self_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from lgi_studio.io.errors import ImageReadError, OutputWriteError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CliError, ImageReadError, OutputWriteError) as exc:
        print(f"lgi: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lgi: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
