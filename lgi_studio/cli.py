"""The ``lgi`` command line: a thin layer over the engine, headless.

Each subcommand is a function taking the parsed arguments and returning an exit code; ``main(argv)`` is
what the console script and the tests call. Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lgi_studio import __version__

EXIT_USAGE = 2


def _cmd_backend(args: argparse.Namespace) -> int:
    """Start the kernel backend and say which one runs and why."""
    from lgi_kernels import BackendError, ensure_backend

    try:
        info = ensure_backend(args.backend)
    except BackendError as exc:
        print(f"lgi: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{info.name}: {info.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lgi", description="LGI Studio: images as 2D Gaussians, headless.")
    parser.add_argument("--version", action="version", version=f"lgi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backend = commands.add_parser("backend", help="show which compute backend runs here, and why")
    backend.add_argument(
        "--backend",
        default=None,
        help="auto (default: CUDA, Vulkan, Metal, then CPU), cpu, cuda, vulkan or metal; also $LGI_BACKEND",
    )
    backend.set_defaults(run=_cmd_backend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
