"""When a fit has stopped improving: the rule that ends the float fit before its iteration budget.

The rule, in windows of ``window`` iterations at full resolution: the window's PSNR is that of its mean
squared error (one noisy iteration moves it little); the fit stops at the end of a window whose PSNR is less
than ``min_gain_db`` above the previous window's. Windows that contain a coarse iteration (``core.schedule``)
or a densification point are not compared: their errors are not the full-resolution picture's, or the count
just changed. A preset's iteration count is then a maximum.

A plateau comes long before the step sizes' cosine decay has run its course, and the smaller steps of that
decay are what still gains: so the fit does not stop there but anneals (``Anneal``): its steps fall from
where they are to their final size over a short tail (``tail`` of the budget), and the fit ends after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .optim import cosine_decay


@dataclass(frozen=True)
class PlateauRule:
    """A fit has plateaued after a full-resolution window that gained less than ``min_gain_db`` over the one
    before; it then anneals over ``tail`` of its budget and ends.

    The default, 0.01 dB per 100 iterations: 2000-iteration fits at N=700 reach it near their end (kodim07:
    the window to 1800 gained nothing, the fit's last 200 iterations 0.01 dB); at N=3000 they still gain
    0.03 dB per window there and run their whole budget; 5000-iteration fits at N=700 reach it at about
    3000 (docs/encoder.md).
    """

    window: int = 100
    min_gain_db: float = 0.01
    tail: float = 0.2  # the fraction of the budget over which the steps anneal after the plateau; 0: stop

    def __post_init__(self) -> None:
        if self.window < 2:
            msg = f"a plateau window needs at least 2 iterations, got {self.window}"
            raise ValueError(msg)
        if not self.min_gain_db >= 0.0:
            msg = f"min_gain_db must be non-negative, got {self.min_gain_db}"
            raise ValueError(msg)
        if not 0.0 <= self.tail <= 1.0:
            msg = f"the plateau's tail must be a fraction of the budget in [0, 1], got {self.tail}"
            raise ValueError(msg)

    def anneal(self, start: int, budget: int, scale: float, final: float) -> Anneal:
        """The end of a fit that plateaued at iteration ``start`` with step scale ``scale`` (``final``: the
        scale its budget would have ended at)."""
        return Anneal(start, min(budget, start + round(self.tail * budget)), scale, final)


@dataclass(frozen=True)
class Anneal:
    """A plateaued fit's last iterations, ``start`` to ``end``: step scales from ``scale`` down to ``final``
    along a half cosine (the shape of the fit's own decay, compressed), then the fit ends."""

    start: int
    end: int
    scale: float
    final: float

    def step_scale(self, iteration: int) -> float:
        progress = (iteration - self.start) / max(1, self.end - self.start)
        return self.scale * cosine_decay(progress, min(1.0, self.final / self.scale))


DEFAULT_PLATEAU = PlateauRule()
"""The encoder's rule (``FitConfig.plateau``)."""


class PlateauWatch:
    """Follows a fit's squared errors and says when ``rule`` has been met."""

    def __init__(self, rule: PlateauRule) -> None:
        self.rule = rule
        self.previous: float | None = None  # PSNR of the last comparable window
        self._sum = 0.0
        self._count = 0
        self._comparable = True

    def update(self, mse: float, full_resolution: bool = True, count_changed: bool = False) -> bool:
        """Record one iteration; True when the window it closes gained too little over the one before."""
        self._sum += mse
        self._count += 1
        self._comparable &= full_resolution and not count_changed
        if self._count < self.rule.window:
            return False
        psnr = 10.0 * math.log10(1.0 / max(self._sum / self._count, 1e-12))
        comparable, self._comparable, self._sum, self._count = self._comparable, True, 0.0, 0
        if not comparable:
            self.previous = None
            return False
        flat = self.previous is not None and psnr - self.previous < self.rule.min_gain_db
        self.previous = psnr
        return flat
