"""Frozen entry point of the bundle: ``lgi-studio`` (the app) and ``lgi`` (the command line).

Started under the name ``lgi`` (a symbolic link to ``lgi-studio`` on Linux and macOS, a second executable
on Windows; see ``lgi-studio.spec``) it runs the command line; under any other name, the app. The first call
must be ``multiprocessing.freeze_support()``: the GUI's engine process (and the self-test's) is this same
executable started again with ``--multiprocessing-fork``, and without that call the child would open a
second window instead of running the engine.
"""

import multiprocessing
import os
import sys


def main() -> int:
    multiprocessing.freeze_support()
    names = {os.path.splitext(os.path.basename(path))[0].lower() for path in (sys.argv[0], sys.executable)}
    if "lgi" in names:
        from lgi_studio.cli import main as cli_main

        return cli_main()
    from lgi_studio.gui.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
