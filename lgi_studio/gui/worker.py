"""The Qt side of the engine process: a worker thread that receives the engine's events through the one
client (``engine.client``) and re-emits them as signals (superqt's GeneratorWorker pattern, with the
generator living in another process).

The GUI thread only sends commands (a non-blocking pipe write) and receives signals; it never waits on
the engine and never runs a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, QThread, Signal, Slot

from lgi_studio.engine import events as ev
from lgi_studio.engine.client import JOIN_S, EngineClient, EngineGoneError
from lgi_studio.engine.commands import Command, parse

POLL_S = 0.02


class EngineWorker(QObject):
    """Owns one engine client; every event the engine sends comes out as ``event(Event)``, frames filled in
    (copied out of shared memory in the worker thread)."""

    event = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.client = EngineClient()
        self._running = True

    @property
    def process(self):
        return self.client.process

    def start_process(self) -> None:
        self.client.start()

    def send(self, command: Command) -> None:
        """Queue a command for the engine (never blocks: commands are tiny)."""
        try:
            self.client.send(command)
        except EngineGoneError as exc:
            self.event.emit(ev.Error(str(exc)))

    @Slot()
    def run(self) -> None:
        """Worker-thread loop: forward engine events until the process ends or ``stop`` is called."""
        while self._running:
            try:
                event = self.client.receive(POLL_S)
            except EngineGoneError:
                break
            if event is not None:
                self.event.emit(event)
            elif not self.client.alive:
                break
        self.client.close()

    def stop(self) -> None:
        """Ask the engine to quit and make sure it is gone (terminated if it does not answer in time)."""
        self._running = False
        self.client.stop()


class Engine(QObject):
    """A worker thread plus its engine process, started together and stopped together."""

    event = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = EngineWorker()
        self.thread = QThread()
        self.worker.moveToThread(self.thread)
        self.worker.event.connect(self.event)
        self.thread.started.connect(self.worker.run)
        self.worker.start_process()
        self.thread.start()

    def send(self, command: Command | str, request: Mapping[str, object] | None = None) -> None:
        """Send a command, typed or by name (``commands.parse``: an unknown name or field raises)."""
        self.worker.send(command if isinstance(command, Command) else parse(command, request))

    def shutdown(self) -> None:
        self.worker.stop()
        self.thread.quit()
        self.thread.wait(int(JOIN_S * 1000) * 2)

    @property
    def alive(self) -> bool:
        return self.worker.process.is_alive()
