"""The codebook slider's stops against a result: a codebook cannot have more colours than the result has
Gaussians, so the stops above its count map to the largest one allowed (the slider's range stays whole)."""

from __future__ import annotations

from lgi_studio.engine.process import CODEBOOK_STOPS

OWN_POSITION = 0
"""Where the handle rests for a fit without a codebook size of its own (lgi-sq, float32, "auto"): the left
end, so that every other stop is one move away and sends it (a release where it rests sends 16)."""


def top_position(count: int) -> int:
    """The highest slider position a result of ``count`` Gaussians allows (0 when even the first is too big)."""
    return max(0, sum(1 for size in CODEBOOK_STOPS if size <= count) - 1)


def own_position(count: int, codebook: int | None) -> int:
    """The handle for a fit's own result: its own codebook size when it has a slider stop, else the left end."""
    position = CODEBOOK_STOPS.index(codebook) if codebook in CODEBOOK_STOPS else OWN_POSITION
    return min(position, top_position(count))


def codebook_name(size: int, count: int) -> str:
    """The readout's "Codebook 512", with why when it is the largest stop the count allows below the slider's end."""
    clamped = size == CODEBOOK_STOPS[top_position(count)] and size < CODEBOOK_STOPS[-1]
    return f"Codebook {size}" + (f" (the largest for {count} Gaussians)" if clamped else "")
