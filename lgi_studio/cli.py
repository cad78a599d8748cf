"""The ``lgi`` command line: a thin layer over the engine, headless.

Each subcommand is a function taking the parsed arguments and returning an exit code; ``main(argv)`` is
what the console script and the tests call. The promise, for any command line and any input: an error the
user can cause prints one line (``lgi: error: ...``) and exits 2, with no traceback. Ctrl-C (SIGINT) and
SIGTERM stop at any point with exit 130 or 143 and write nothing: every output of a command is staged in a
temp file and all are renamed into place together, only after all are complete (``io.atomic``); a temp left
by a SIGKILL is removed by the next run that writes the same file. A closed pipe (``lgi info x | head``)
ends the command quietly with 141, as a process killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from lgi_studio import __version__
from lgi_studio.interrupts import signals as _signals

EXIT_USAGE = 2
DEFAULT_COUNT = 5000
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141
MAX_SEED = 2**32 - 1

FIT_BASE_BYTES = 160 << 20
FIT_BYTES_PER_PIXEL = 330
FIT_BYTES_PER_GAUSSIAN = 600
"""A fit's peak memory: measured 160 MB at 256 x 256, 450 MB at 1024 x 1024 and 1.33 GB at 2048 x 2048 with
5000 Gaussians (~300 bytes per pixel, plus 10%), +24 MB for 45,000 more Gaussians (``lgi encode
--iterations 2``, peak RSS)."""


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def _start_backend(name: str | None) -> str:
    from lgi_kernels import BackendError, ensure_backend

    try:
        info = ensure_backend(name)
    except BackendError as exc:
        raise CliError(str(exc)) from exc
    _signals.reinstall()  # a backend start may have put its own handlers in place
    _signals.checkpoint()
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


def _check_outputs(paths: Sequence[Path | None]) -> None:
    """Every output writable, none named twice (one would silently overwrite the other)."""
    given = [Path(p) for p in paths if p is not None]
    for path in given:
        _check_writable(path)
    resolved = [p.resolve() for p in given]
    if len(set(resolved)) != len(resolved):
        raise CliError("the same file is named as two outputs")


def _commit(files: dict[Path, bytes]) -> None:
    """Write every output or none (a signal during the final renames waits until they are done)."""
    from lgi_studio.io.atomic import write_together

    _signals.checkpoint()
    write_together(files, renaming=_signals.deferred)


def encode_config(args: argparse.Namespace):
    """The ``FitConfig`` that ``lgi encode``'s options (shared by ``lgi batch``) describe."""
    from lgi_kernels import RenderMode
    from lgi_studio.core.fit import FitConfig
    from lgi_studio.core.scheme_names import DEFAULT_SCHEME

    targets = [args.target_size, args.target_bpp, args.target_psnr]
    if any(t is not None for t in targets) and (args.count is not None or args.adaptive):
        raise CliError("give -n/--count, --adaptive or a --target-*, not more than one")
    try:
        return FitConfig(
            count=None if args.adaptive else DEFAULT_COUNT if args.count is None else args.count,
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


def encode_target(args: argparse.Namespace, width: int, height: int):
    """The ``--target-*`` option given, as a ``targets.Target`` (None when the count decides)."""
    from lgi_studio.targets import Target

    try:
        return Target.from_options(args.target_size, args.target_bpp, args.target_psnr, width, height)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _check_fit_memory(path: str, count: int | None, limit_gb: float | None) -> None:
    """Refuse, before reading the picture, a fit this machine cannot hold (``--max-memory`` overrides)."""
    from lgi_studio.core.count import MAX_COUNT
    from lgi_studio.io.images import picture_size

    if limit_gb is not None and not (math.isfinite(limit_gb) and limit_gb > 0):
        raise CliError(f"--max-memory must be a positive number of GB, got {limit_gb}")
    width, height = picture_size(path)
    need = FIT_BASE_BYTES + FIT_BYTES_PER_PIXEL * width * height + FIT_BYTES_PER_GAUSSIAN * (count or MAX_COUNT)
    limit = limit_gb * 1e9 if limit_gb is not None else _available_memory()
    if limit is not None and need > limit:
        source = "--max-memory" if limit_gb is not None else "available memory"
        raise CliError(
            f"fitting {width}x{height} needs about {need / 1e9:.1f} GB of memory, more than the {limit / 1e9:.1f} GB "
            f"of {source}: use a smaller picture, or pass --max-memory {math.ceil(need / 1e9)} to try anyway"
        )


def _available_memory() -> float | None:
    """Bytes of memory free for a new fit (Linux: MemAvailable), None where we cannot tell."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024.0
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return None


def _cmd_encode(args: argparse.Namespace) -> int:
    """Fit a picture with Gaussians and write the reconstruction."""
    from lgi_studio import codec
    from lgi_studio.core.metrics import ms_ssim, psnr_8bit
    from lgi_studio.io.images import image_bytes, load_image, picture_format, picture_metadata
    from lgi_studio.io.metrics_files import metrics_text

    output = Path(args.output)
    _check_outputs([output, args.metrics_csv, args.metrics_json])
    writes_lgi = output.suffix.lower() == ".lgi"
    if not writes_lgi:
        picture_format(output)
    cfg = encode_config(args)
    if cfg.count is not None and cfg.count < 2 and cfg.scheme not in ("float32", "lgi-sq"):
        raise CliError(f"--scheme {cfg.scheme} needs at least 2 Gaussians (its colour codebook has 2 entries or more)")
    _check_fit_memory(args.input, cfg.count, args.max_memory)
    image = load_image(args.input)
    height, width = image.shape[:2]
    target = encode_target(args, width, height)
    if target is not None and not writes_lgi:
        raise CliError("a --target-* sets the size or PSNR of a .lgi file: give an output ending in .lgi")
    backend = _start_backend(args.backend)
    file_bytes = encoded = None
    with _progress_bar(args.quiet) as progress:
        if writes_lgi:
            try:
                kept = codec.carried_metadata(args.input) if args.keep_metadata else None
                options = {"target": target, "progress": progress, "record_settings": args.metadata, "metadata": kept}
                encoded = codec.encode_image(image, cfg, **options)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
            result, render, data = encoded.fit, encoded.render, encoded.data
            file_bytes = len(data)
        else:
            result = codec.fit_picture(image, cfg, progress)
            render = result.gaussians.render(mode=cfg.mode)
            data = image_bytes(output, render, picture_metadata(args.input) if args.keep_metadata else None)
    summary = {
        "input": str(args.input),
        "output": str(output),
        "width": width,
        "height": height,
        "count": encoded.quantized.n if encoded is not None else len(result.gaussians),
        "render_mode": cfg.mode.value,
        "preset": cfg.preset,
        "iterations": len(result.history["iteration"]),  # what ran: a plateau (core.plateau) may end it early
        "seed": cfg.seed,
        "backend": backend,
        "psnr": round(result.psnr, 4),
        "ms_ssim": round(ms_ssim(render, image), 6) if min(width, height) > 160 else None,
        "scheme": cfg.scheme if file_bytes else None,
        "file_bytes": file_bytes,
        "bpp": round(8 * file_bytes / (width * height), 4) if file_bytes else None,
        "seconds": round(result.elapsed, 3),
        "iterations_per_second": round(len(result.history["iteration"]) / result.elapsed, 2),
    }
    if encoded is not None and encoded.target is not None:
        summary.update(target=encoded.target.target.asked, target_met=encoded.target.met, fits=encoded.target.fits)
    history = {k: v.tolist() for k, v in result.history.items()}
    files = {output: data}
    if args.metrics_json:
        files[Path(args.metrics_json)] = metrics_text(args.metrics_json, history, summary, fmt="json").encode()
    if args.metrics_csv:
        files[Path(args.metrics_csv)] = metrics_text(args.metrics_csv, history, summary, fmt="csv").encode()
    _commit(files)
    size = f", {file_bytes} bytes ({summary['bpp']} bpp, {cfg.scheme})" if file_bytes else ""
    print(
        f"{output}: {summary['count']} Gaussians, PSNR {psnr_8bit(render, image):.2f} dB{size}, "
        f"{result.elapsed:.1f} s ({summary['iterations_per_second']} it/s, {backend})"
    )
    if encoded is not None and encoded.target is not None:
        print(encoded.target.describe(encoded))
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
    """Output size from --scale or --width/--height (not both), keeping the aspect unless both sides are given;
    impossible or conflicting sizes are errors, and so is a render beyond the pixel limit."""
    from lgi_studio.io.render_limits import MAX_RENDER_PIXELS

    if args.scale is not None and (args.width is not None or args.height is not None):
        raise CliError("give --scale or --width/--height, not both")
    for flag, value in (("--width", args.width), ("--height", args.height)):
        if value is not None and value < 1:
            raise CliError(f"{flag} must be at least 1, got {value}")
    if args.scale is not None:
        if not (math.isfinite(args.scale) and 0 < args.scale <= 64):
            raise CliError(f"--scale must be in (0, 64], got {args.scale}")
        out = (max(1, round(width * args.scale)), max(1, round(height * args.scale)))
    elif args.width or args.height:
        w = args.width or max(1, round(args.height * width / height))
        h = args.height or max(1, round(args.width * height / width))
        out = (w, h)
    else:
        out = (width, height)
    if not (1 <= out[0] <= 32768 and 1 <= out[1] <= 32768):
        raise CliError(f"output size {out[0]}x{out[1]} is outside 1..32768 pixels per side")
    if out[0] * out[1] > MAX_RENDER_PIXELS:
        raise CliError(
            f"output size {out[0]}x{out[1]} is {out[0] * out[1] / 1e6:.1f} MP, more than the "
            f"{MAX_RENDER_PIXELS / 1e6:.1f} MP a render may have (ask for less with --width, --height or --scale)"
        )
    return out


def _render(lgi, width: int, height: int, mode):
    """The file's Gaussians at ``width`` x ``height``, refused before allocating beyond the render limits."""
    from lgi_studio.io.lgi_format import RenderLimitError

    try:
        return lgi.render(width, height, mode)
    except RenderLimitError as exc:
        raise CliError(str(exc)) from exc


def _cmd_decode(args: argparse.Namespace) -> int:
    """Render a .lgi file to a picture at any size."""
    from lgi_kernels import RenderMode
    from lgi_studio.codec import restored_metadata
    from lgi_studio.io.images import image_bytes, picture_format

    output = Path(args.output)
    picture_format(output)
    _check_writable(output)
    lgi = _open_lgi(args.input)
    width, height = _output_size(args, lgi.header.width, lgi.header.height)
    mode = RenderMode.parse(args.render_mode) if args.render_mode else lgi.header.mode
    _start_backend(args.backend)
    _commit({output: image_bytes(output, _render(lgi, width, height, mode), restored_metadata(lgi.metadata))})
    print(f"{output}: {width}x{height} from {lgi.header.count} Gaussians ({mode.value})")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    """Describe a .lgi file without rendering it."""
    from lgi_studio.codec import describe

    lgi = _open_lgi(args.input)
    h = lgi.header
    info = {"file": str(args.input), **describe(lgi)}
    from lgi_studio.core.registry import LGI_FAMILY

    if h.scheme in LGI_FAMILY:
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


@contextlib.contextmanager
def _progress_bar(quiet: bool):
    """A progress callback for ``codec``, drawing one bar per fit (a target's search may fit again)."""
    from tqdm import tqdm

    bar = None

    def show(progress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=progress.total, unit="it", disable=quiet, dynamic_ncols=True, leave=False)
        elif progress.iteration == 1:
            bar.reset(total=progress.total)
        bar.set_postfix_str(f"PSNR {progress.psnr:.2f} dB, N={progress.count}", refresh=False)
        bar.update(1)
        _signals.checkpoint()

    try:
        yield show
    finally:
        if bar is not None:
            bar.close()


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (``lgi: error: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"lgi: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        msg = f"a whole number from 0 to {MAX_SEED}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lgi", description="LGI Studio: images as 2D Gaussians, headless.")
    parser.add_argument("--version", action="version", version=f"lgi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backend_help = "auto (default: CUDA, Vulkan, Metal, then CPU), cpu, cuda, vulkan or metal; also $LGI_BACKEND"

    backend = commands.add_parser("backend", help="show which compute backend runs here, and why")
    backend.add_argument("--backend", default=None, help=backend_help)
    backend.set_defaults(run=_cmd_backend)

    encode = commands.add_parser("encode", help="fit a picture with Gaussians")
    encode.add_argument("-i", "--input", required=True, help="picture to fit (PNG, JPEG, WebP, TIFF, BMP)")
    encode.add_argument("-o", "--output", required=True, help="where to write: .png writes the reconstruction")
    encode.add_argument("-n", "--count", type=int, default=None, help="number of Gaussians (default 5000)")
    encode.add_argument("--adaptive", action="store_true", help="choose the count from the picture's complexity")
    encode.add_argument(
        "-q", "--quality", default="balanced", help="preset: fast | balanced | high | ultra (iteration budgets)"
    )
    encode.add_argument("--iterations", type=int, default=None, help="override the preset's iteration count")
    encode.add_argument(
        "--render-mode", default="sum", choices=("sum", "alpha"), help="sum (accumulated, default) or alpha"
    )
    encode.add_argument("--init", default="content", help="content (default) or random placement")
    encode.add_argument("--loss", default="l2", help="l2 (default) or l1+ssim")
    encode.add_argument("--seed", type=_seed, default=0, help=f"random seed, 0 to {MAX_SEED} (default 0)")
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
    encode.add_argument("--keep-metadata", action="store_true", help="carry the ICC profile and EXIF along")
    encode.add_argument(
        "--max-memory", type=float, default=None, help="GB the fit may use (default: the memory available now)"
    )
    encode.add_argument("--quiet", action="store_true", help="no progress bar")
    encode.add_argument("--target-size", default=None, help="file size to reach: bytes, or 20KB, 1.5MB (KB = 1000)")
    encode.add_argument("--target-bpp", type=float, default=None, help="file size to reach, in bits per pixel")
    encode.add_argument("--target-psnr", type=float, default=None, help="PSNR (dB) to reach with the smallest file")
    encode.set_defaults(run=_cmd_encode)

    from lgi_studio.batch_cli import add_batch_parser
    from lgi_studio.thumbnail import add_thumbnail_parser

    add_batch_parser(commands, encode)
    add_thumbnail_parser(commands)

    decode = commands.add_parser("decode", help="render a .lgi file at any resolution")
    decode.add_argument("-i", "--input", required=True, help=".lgi file")
    decode.add_argument("-o", "--output", required=True, help="picture to write (.png, .jpg, ...)")
    decode.add_argument("--scale", type=float, default=None, help="output size as a multiple of the original")
    decode.add_argument("--width", type=int, default=None, help="output width (height follows unless given)")
    decode.add_argument("--height", type=int, default=None, help="output height (width follows unless given)")
    decode.add_argument("--render-mode", default=None, choices=("sum", "alpha"), help="default: the file's")
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
    with _signals.installed():
        try:
            return _run(argv)
        except KeyboardInterrupt as exc:
            return _interrupted(getattr(exc, "signum", signal.SIGINT))
        except Exception:
            # a library may turn the interrupt into its own error: Ctrl-C while Taichi's extension module
            # initializes surfaces as "ImportError: initialization failed"
            if _signals.received is None:
                raise
            return _interrupted(_signals.received)


def _interrupted(signum: int) -> int:
    print("lgi: interrupted; nothing written", file=sys.stderr)
    return EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED


def _run(argv: Sequence[str] | None) -> int:
    from lgi_studio.io.errors import ImageReadError, OutputWriteError

    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return code
    except (CliError, ImageReadError, OutputWriteError) as exc:
        print(f"lgi: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
