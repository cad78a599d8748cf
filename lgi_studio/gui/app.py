"""Entry point of the ``lgi-studio`` desktop app."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app. The window lands with the GUI issue; until then say so plainly."""
    del argv
    print("LGI Studio: GUI not built yet. The command-line encoder is `lgi --help`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
