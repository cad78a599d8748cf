"""The Qt side of the engine process: a worker thread that owns the process and re-emits its events as
signals (superqt's GeneratorWorker pattern, with the generator living in another process).

The GUI thread only sends commands (a non-blocking pipe write) and receives signals; it never waits on
the engine and never runs a kernel.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import shared_memory

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from .engine import FRAME_SLOTS, engine_main

POLL_S = 0.02
JOIN_S = 2.0


class EngineWorker(QObject):
    """Owns one engine process; every event it sends comes out as ``event(kind, payload)``.

    Frames are copied out of shared memory here, in the worker thread, and travel as numpy arrays in the
    payload under ``"frame"``.
    """

    event = Signal(str, dict)

    def __init__(self) -> None:
        super().__init__()
        ctx = mp.get_context("spawn")
        self._commands_recv, self._commands = ctx.Pipe(duplex=False)
        self._events, self._events_send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=engine_main, args=(self._commands_recv, self._events_send), daemon=True)
        self._running = True
        self._attached: dict[str, shared_memory.SharedMemory] = {}

    def start_process(self) -> None:
        self.process.start()
        self._commands_recv.close()
        self._events_send.close()

    def send(self, command: str, request: dict | None = None) -> None:
        """Queue a command for the engine (never blocks: commands are tiny)."""
        try:
            self._commands.send((command, request or {}))
        except (BrokenPipeError, OSError):
            self.event.emit("error", {"message": "the engine process has stopped"})

    @Slot()
    def run(self) -> None:
        """Worker-thread loop: forward engine events until the process ends or ``stop`` is called."""
        while self._running:
            try:
                if not self._events.poll(POLL_S):
                    if not self.process.is_alive():
                        break
                    continue
                kind, payload = self._events.recv()
            except (EOFError, OSError):
                break
            if "shm" in payload:
                try:
                    payload["frame"] = self._read_frame(payload)
                except FileNotFoundError:  # the engine has closed that buffer: it is quitting
                    continue
            self.event.emit(kind, payload)
        self._detach()

    def _read_frame(self, payload: dict) -> np.ndarray:
        name = payload["shm"]
        if name not in self._attached:
            self._detach()
            # the engine creates and unlinks the block; a spawned child shares our resource tracker,
            # so attaching here needs no bookkeeping of its own
            self._attached[name] = shared_memory.SharedMemory(name=name)
        shape = (FRAME_SLOTS, payload["height"], payload["width"], 3)
        frames = np.ndarray(shape, dtype=np.uint8, buffer=self._attached[name].buf)
        frame = frames[payload["slot"]].copy()
        del frames
        return frame

    def _detach(self) -> None:
        for shm in self._attached.values():
            shm.close()
        self._attached.clear()

    def stop(self) -> None:
        """Ask the engine to quit and make sure it is gone (terminated if it does not answer in time)."""
        self._running = False
        self.send("quit")
        self.process.join(JOIN_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(JOIN_S)
        self._commands.close()


class Engine(QObject):
    """A worker thread plus its engine process, started together and stopped together."""

    event = Signal(str, dict)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = EngineWorker()
        self.thread = QThread()
        self.worker.moveToThread(self.thread)
        self.worker.event.connect(self.event)
        self.thread.started.connect(self.worker.run)
        self.worker.start_process()
        self.thread.start()

    def send(self, command: str, request: dict | None = None) -> None:
        self.worker.send(command, request)

    def shutdown(self) -> None:
        self.worker.stop()
        self.thread.quit()
        self.thread.wait(int(JOIN_S * 1000) * 2)

    @property
    def alive(self) -> bool:
        return self.worker.process.is_alive()
