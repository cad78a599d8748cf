"""The one way to drive an engine process: spawn it, send typed commands, receive typed events.

The Qt worker (``gui/worker.py``) and the installation self-test (``selftest.py``) both use it. Sending
never blocks (commands are tiny); receiving waits at most the timeout given; frames are copied out of
shared memory here, so every event handed on is complete and owns its arrays.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import time
from typing import TypeVar

from . import events as ev
from .commands import Command, Quit
from .frames import FrameReader, FrameRef
from .process import engine_main

JOIN_S = 2.0
"""How long ``stop`` waits for the engine to quit before it terminates the process."""
E = TypeVar("E", bound=ev.Event)


class EngineGoneError(RuntimeError):
    """The engine process has ended (crashed, killed or quit)."""


class EngineTimeoutError(TimeoutError):
    """An awaited event did not come in time."""


class EngineError(RuntimeError):
    """The engine answered an awaited command with an ``Error`` event."""

    def __init__(self, error: ev.Error) -> None:
        super().__init__(error.message)
        self.error = error


class EngineClient:
    """One engine process and the two pipes to it."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._commands_recv, self._commands = ctx.Pipe(duplex=False)
        self._events, self._events_send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=engine_main, args=(self._commands_recv, self._events_send), daemon=True)
        self._frames = FrameReader()

    def start(self) -> EngineClient:
        self.process.start()
        self._commands_recv.close()  # the child holds these ends now; closing ours makes EOF reach it
        self._events_send.close()
        return self

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, command: Command) -> None:
        """Queue ``command`` for the engine; a non-command raises here, an engine that is gone raises
        ``EngineGoneError``."""
        if not isinstance(command, Command):
            msg = f"not an engine command: {command!r}"
            raise TypeError(msg)
        try:
            self._commands.send(command)
        except (BrokenPipeError, OSError) as exc:
            raise EngineGoneError("the engine process has stopped") from exc

    def receive(self, timeout: float) -> ev.Event | None:
        """The next event, waiting at most ``timeout`` seconds (None if none came); ``EngineGoneError`` once the
        engine has ended and every event it sent has been read."""
        try:
            if not self._events.poll(timeout):
                return None
            event, ref = self._events.recv()
        except (EOFError, OSError) as exc:
            raise EngineGoneError("the engine process has stopped") from exc
        if not isinstance(event, ev.Event):
            msg = f"the engine sent something that is not an event: {event!r}"
            raise TypeError(msg)
        if isinstance(ref, FrameRef):
            try:
                event = dataclasses.replace(event, frame=self._frames.read(ref))
            except FileNotFoundError:
                if not self.alive:  # it unlinked its frames on the way out
                    raise EngineGoneError("the engine process has stopped") from None
                lost = f"a picture from the engine was lost ({event.kind}: newer ones came first); try again"
                return ev.Error(lost)
        return event

    def wait_for(self, kind: type[E], timeout: float) -> E:
        """Read events until one of ``kind`` arrives; an ``Error`` event raises ``EngineError``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            event = self.receive(max(left, 0.0)) if left > 0 else None
            if event is None:
                msg = f"no {kind.__name__} event from the engine within {timeout:.0f} s"
                raise EngineTimeoutError(msg)
            if isinstance(event, ev.Error):
                raise EngineError(event)
            if isinstance(event, kind):
                return event

    def stop(self, join_s: float = JOIN_S) -> int | None:
        """Ask the engine to quit and make sure it is gone: terminated if it does not answer in time, killed
        if it is still there after another ``join_s`` (a loaded machine can delay both); returns its exit
        code. Events already sent can still be received until ``close``."""
        with contextlib.suppress(EngineGoneError):
            self.send(Quit())
        self.process.join(join_s)
        for end in (self.process.terminate, self.process.kill):
            if self.process.is_alive():
                end()
                self.process.join(join_s)
        self.process.join()  # a killed process is reaped at once
        self._commands.close()
        return self.process.exitcode

    def close(self) -> None:
        """Release the event pipe and the frames; call it from the thread that receives, once done."""
        self._events.close()
        self._frames.close()

    def __enter__(self) -> EngineClient:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.close()
