"""One side of a side-by-side benchmark: a long-lived worker process (another checkout's venv, or ours)
that answers one JSON request per stdin line with one JSON line, so both sides run in turns in one run."""

from __future__ import annotations

import json
import subprocess


class Side:
    """``python script --worker`` as a request/answer pipe."""

    def __init__(self, python: str, script: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [python, script, "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
