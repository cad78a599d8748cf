"""``EngineClient.stop`` makes sure the engine is gone, even one that answers neither Quit nor SIGTERM in
time (a loaded machine, or a launch that holds the interpreter): closing the window leaves no process."""

import multiprocessing as mp
import signal
import time

from lgi_studio.engine.client import EngineClient


def _stubborn(ready) -> None:
    """Ignores SIGTERM and never reads a command: an engine that will not go by itself."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    while True:
        time.sleep(0.05)


def test_stop_kills_an_engine_that_ignores_quit_and_sigterm():
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    client = EngineClient()
    client.process = ctx.Process(target=_stubborn, args=(ready,), daemon=True)
    client.process.start()
    try:
        assert ready.wait(60), "the stand-in engine did not start"
        client.stop(join_s=0.5)
        assert not client.alive
        assert client.process.exitcode == -signal.SIGKILL
    finally:
        if client.process.is_alive():
            client.process.kill()
        client.close()
