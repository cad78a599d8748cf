"""What the status bar says during a fit: iteration, speed without the paused time, the Gaussian count as it
grows, the size estimate named for what it is, and a time left only once it can be trusted."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import FitSettings

RATE_WINDOW_S = 5.0
"""The speed behind "time left" is measured over the last few seconds, not since the start: densification
and quantization-aware training make later iterations slower than the first."""
DENSIFY_ENDS = 0.3
"""Fraction of the fit by which the count has grown to its target (``FitConfig.densify_at``'s last)."""


@dataclass
class FitClock:
    """Active fit time (pauses taken out) and a recent rate of iterations per second."""

    total: int = 0
    paused_s: float = 0.0
    paused_at: float | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)  # (active seconds, iterations done)

    def start(self, total: int) -> None:
        self.total = total

    def pause(self, now: float) -> None:
        self.paused_at = now

    def resume(self, now: float) -> None:
        if self.paused_at is not None:
            self.paused_s += now - self.paused_at
            self.paused_at = None

    def tick(self, iteration: int, elapsed: float) -> None:
        """``elapsed``: the engine's seconds since the fit began, pauses included."""
        active = max(elapsed - self.paused_s, 0.0)
        self.samples.append((active, iteration))
        while len(self.samples) > 2 and active - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.pop(0)

    @property
    def active(self) -> float:
        return self.samples[-1][0] if self.samples else 0.0

    def rate(self) -> float:
        """Iterations per active second over the recent window."""
        if len(self.samples) < 2:
            return self.samples[0][1] / self.samples[0][0] if self.samples and self.samples[0][0] > 0 else 0.0
        (t0, i0), (t1, i1) = self.samples[0], self.samples[-1]
        return (i1 - i0) / (t1 - t0) if t1 > t0 else 0.0

    def left(self) -> float | None:
        """Seconds left, or None while the count still grows (every estimate then is too short)."""
        done = self.samples[-1][1] if self.samples else 0
        rate = self.rate()
        if done < DENSIFY_ENDS * self.total or rate <= 0:
            return None
        return (self.total - done) / rate


def count_text(count: int, iteration: int, total: int, settings: FitSettings) -> str:
    """The Gaussian count, saying why it is below the target while it grows."""
    growing = iteration < DENSIFY_ENDS * total
    target = None if settings.adaptive else settings.count
    if not growing or (target is not None and count >= target):
        return f"{count:,} Gaussians"
    if target is not None:
        return f"{count:,} of {target:,} Gaussians (growing until {DENSIFY_ENDS:.0%} of the fit)"
    return f"{count:,} Gaussians (chosen from the picture; growing until {DENSIFY_ENDS:.0%} of the fit)"


def fit_status(p: dict, clock: FitClock, settings: FitSettings) -> str:
    """The status line for one progress event ``p`` (the engine's fields)."""
    iteration, total = int(p["iteration"]), int(p["total"])
    size = (
        f"~{p['bpp']:.3f} bpp estimated (quantized)"
        if p["phase"] == "qa"
        else f"{p['bpp']:.2f} bpp as floats (the file is smaller)"
    )
    left = clock.left()
    if left is None:
        eta = "time left: estimating…"
    else:
        eta = f"~{math.ceil(left)} s left"
        if settings.qa_training and p["phase"] != "qa":
            eta += " (quantization-aware training is slower)"
    return (
        f"Iteration {iteration}/{total} ({'QA' if p['phase'] == 'qa' else 'fit'}), {clock.rate():.1f} it/s, "
        f"{count_text(int(p['count']), iteration, total, settings)}, PSNR {p['psnr']:.2f} dB, {size}, "
        f"{clock.active:.0f} s, {eta}"
    )
