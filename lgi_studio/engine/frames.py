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


class FrameReader:
    """The client's side: attaches to the engine's current block and copies frames out of it."""

    def __init__(self) -> None:
        self._attached: dict[str, shared_memory.SharedMemory] = {}

    def read(self, ref: FrameRef) -> np.ndarray:
        if ref.shm not in self._attached:
            self.close()  # the engine made a new block (another frame size) and unlinked the old one
            # the engine creates and unlinks the block; a spawned child shares our resource tracker,
            # so attaching here needs no bookkeeping of its own
            self._attached[ref.shm] = shared_memory.SharedMemory(name=ref.shm)
        shape = (FRAME_SLOTS, ref.height, ref.width, 3)
        frames = np.ndarray(shape, dtype=np.uint8, buffer=self._attached[ref.shm].buf)
        frame = frames[ref.slot].copy()
        del frames
        return frame

    def close(self) -> None:
        for shm in self._attached.values():
            shm.close()
        self._attached.clear()
