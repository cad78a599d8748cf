"""Pictures between the engine and its client: two shared-memory frames used in turn.

A frame is written into the slot not being read and a small ``FrameRef`` naming it goes down the pipe, so
the pipe carries a few bytes per frame however large the picture.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

FRAME_SLOTS = 2
BUFFER_SHAPES = 4
"""Blocks of this many frame shapes stay alive (the picture's and a few zoom renders'): replacing the one
block for a render of another size unlinked it before the client had read the frame just sent in it."""


@dataclass(frozen=True)
class FrameRef:
    """Where a frame lies: the shared-memory block, its slot, and the frame's size in pixels."""

    shm: str
    slot: int
    width: int
    height: int


class FrameBuffers:
    """``FRAME_SLOTS`` [H, W, 3] uint8 frames in one shared-memory block, created by the engine."""

    def __init__(self, width: int, height: int) -> None:
        self.shape = (height, width, 3)
        self.shm = shared_memory.SharedMemory(create=True, size=FRAME_SLOTS * height * width * 3)
        self.frames = np.ndarray((FRAME_SLOTS, *self.shape), dtype=np.uint8, buffer=self.shm.buf)
        self.next_slot = 0

    def write(self, frame: np.ndarray) -> FrameRef:
        slot = self.next_slot
        self.frames[slot] = frame
        self.next_slot = (slot + 1) % FRAME_SLOTS
        return FrameRef(self.shm.name, slot, self.shape[1], self.shape[0])

    def close(self) -> None:
        self.frames = None
        with contextlib.suppress(FileNotFoundError):
            self.shm.close()
            self.shm.unlink()


class FrameWriter:
    """The engine's side: one ``FrameBuffers`` per frame shape, the ``BUFFER_SHAPES`` most recent kept."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[int, ...], FrameBuffers] = {}

    def write(self, frame: np.ndarray) -> FrameRef:
        buffers = self._buffers.pop(frame.shape, None) or FrameBuffers(frame.shape[1], frame.shape[0])
        self._buffers[frame.shape] = buffers  # the most recently used last
        while len(self._buffers) > BUFFER_SHAPES:
            self._buffers.pop(next(iter(self._buffers))).close()
        return buffers.write(frame)

    def close(self) -> None:
        for buffers in self._buffers.values():
            buffers.close()
        self._buffers.clear()


class FrameReader:
    """The client's side: attaches to the engine's blocks (as many as it keeps) and copies frames out."""

    def __init__(self) -> None:
        self._attached: dict[str, shared_memory.SharedMemory] = {}

    def read(self, ref: FrameRef) -> np.ndarray:
        """The frame ``ref`` names; FileNotFoundError when the engine has already dropped its block."""
        shm = self._attached.pop(ref.shm, None)
        if shm is None:
            # the engine creates and unlinks the block; a spawned child shares our resource tracker,
            # so attaching here needs no bookkeeping of its own
            shm = shared_memory.SharedMemory(name=ref.shm)
        self._attached[ref.shm] = shm  # the most recently used last
        while len(self._attached) > BUFFER_SHAPES:
            self._attached.pop(next(iter(self._attached))).close()
        shape = (FRAME_SLOTS, ref.height, ref.width, 3)
        frames = np.ndarray(shape, dtype=np.uint8, buffer=shm.buf)
        frame = frames[ref.slot].copy()
        del frames
        return frame

    def close(self) -> None:
        for shm in self._attached.values():
            shm.close()
        self._attached.clear()
