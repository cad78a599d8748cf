"""Encoding to a target instead of a count: a file size (bytes or bits per pixel) or a PSNR (docs/targets.md).

The knob is the Gaussian count; the quantization steps follow it (``core.step_rule``). A fit is the
expensive part, so the search fits as few times as it can and then tries kept counts on that fit: the
least important Gaussians are dropped and the rest quantized with their colours refit by least squares for
the quantized geometry (``core.refit``: a short refit, 25 conjugate-gradient steps), which costs about one
second on a Kodak picture where a fit costs seconds to minutes. Cutting many Gaussians loses more than a
fit at the smaller count would (``PRUNE_AT_MOST``), so the search rather fits again: 2.3 fits per
encode on Kodak at 10-40 KB (docs/targets.md).

- Size: fit at the count the scheme's typical bytes per Gaussian predict, plus ``OVERSHOOT``. If the file
  is too large by at most ``PRUNE_AT_MOST``, search the kept count (secant steps inside the bracket of
  sizes measured) until the file lands in [95%, 100%] of the target; if it is too small, or too large by
  more, fit again at the count this picture's own bytes per Gaussian predict.
- PSNR: fit at the count the adaptive rule gives, scaled by ``DB_PER_DOUBLING`` to the target; fit again
  at the count predicted from the PSNR measured (and, after two fits, from their own slope) while the fit
  misses the target or passes it by more than ``PRUNE_AT_MOST`` of its count; then bisect (in log count)
  for the fewest Gaussians of the last fit that still reach it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lgi_studio.codec import Encoded, Progress, fit_picture, pack_fit

if TYPE_CHECKING:
    from lgi_studio.core.fit import FitConfig, FitResult

SIZE_FLOOR = 0.95
"""A size target is met by a file of at most the target and at least this fraction of it."""
SIZE_AIM = 0.975
"""Where inside [floor, target] the count search aims: the middle, so one more step rarely overshoots."""
BYTES_PER_GAUSSIAN = {"lgi-sq": 5.4, "lgi": 6.0, "gaussianimage": 7.0, "vq": 1.5, "float32": 32.0}
"""First guesses only (the search measures the picture's own): lgi-sq took 5.1-5.6 bytes per Gaussian on
all 24 Kodak pictures at 700-7000 Gaussians (docs/rd/points.csv); gaussianimage stores 56 bits."""
BASE_BYTES = 120
"""Container and colour-model bytes a file has whatever its count (signature, chunks, steps, model)."""
OVERSHOOT = 1.03
"""Fits get this many times the predicted count: dropping a few Gaussians costs a refit, adding them a fit."""
PRUNE_AT_MOST = 0.04
"""A fit is cut by at most this fraction; beyond, the search fits again at the count it now predicts.
Cutting costs more than it saves: on kodim23 (150 iterations) keeping 92% of the Gaussians lost 0.85 dB
at N=2000 and 1.9 dB at N=4000, where fits at that count lost 0.5 and 0.3 dB; a fit took 6.5 s and a cut
1.2-1.4 s (benchmarks/target_size.py measures the whole search)."""
DB_PER_DOUBLING = 2.0
"""PSNR gained per doubling of the count: 1.9-3.0 dB on Kodak at 3000-7000 Gaussians (docs/rd/points.csv);
the low end, so that a second fit rarely falls short."""
MAX_FITS = 3
MAX_TRIALS = 14
_UNITS = {"": 1, "b": 1, "kb": 1000, "k": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


def parse_size(text: str | int) -> int:
    """Bytes from ``20000``, ``"20000"``, ``"20KB"``, ``"20 kB"``, ``"19.5KiB"`` or ``"1.2MB"`` (KB = 1000 bytes)."""
    if isinstance(text, int):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
        if match is None or match.group(2).lower() not in _UNITS:
            msg = f"target size must be a number of bytes or KB/MB (e.g. 20000, 20KB, 1.5MB), got {text!r}"
            raise ValueError(msg)
        value, unit = float(match.group(1)), match.group(2).lower()
    size = round(value * _UNITS[unit])
    if size < 1:
        msg = f"target size must be at least 1 byte, got {text!r}"
        raise ValueError(msg)
    return size


@dataclass(frozen=True)
class Target:
    """What to reach: ``kind`` "size" (``value`` in bytes) or "psnr" (``value`` in dB); ``asked`` as given."""

    kind: str
    value: float
    asked: str

    @classmethod
    def from_options(
        cls, size: int | str | None, bpp: float | None, psnr: float | None, width: int, height: int
    ) -> Target | None:
        """The one target given (None if none); more than one, or an impossible one, is a ``ValueError``."""
        given = [name for name, v in (("size", size), ("bpp", bpp), ("psnr", psnr)) if v is not None]
        if len(given) > 1:
            msg = f"give one target, not {' and '.join(given)}"
            raise ValueError(msg)
        if size is not None:
            return cls("size", parse_size(size), str(size))
        if bpp is not None:
            if not 0 < bpp <= 64:
                msg = f"target bpp must be in (0, 64], got {bpp}"
                raise ValueError(msg)
            return cls("size", max(1, math.floor(bpp * width * height / 8)), f"{bpp:g} bpp")
        if psnr is not None:
            if not 5 <= psnr <= 100:
                msg = f"target PSNR must be between 5 and 100 dB, got {psnr}"
                raise ValueError(msg)
            return cls("psnr", float(psnr), f"{psnr:g} dB")
        return None

    def met_by(self, encoded: Encoded) -> bool:
        if self.kind == "size":
            return SIZE_FLOOR * self.value <= len(encoded.data) <= self.value
        return encoded.psnr >= self.value


@dataclass(frozen=True)
class Trial:
    """One candidate file the search measured."""

    count: int  # Gaussians in the file
    fitted: int  # Gaussians in the fit it was cut from
    bytes: int
    psnr: float


@dataclass(frozen=True)
class TargetReport:
    target: Target
    met: bool
    fits: int
    trials: tuple[Trial, ...]

    def describe(self, encoded: Encoded) -> str:
        """One line: what was asked, what was reached, what it took."""
        got = len(encoded.data)
        if self.target.kind == "size":
            reached = f"{got} bytes ({100 * got / self.target.value:.1f}% of {self.target.value:.0f})"
        else:
            reached = f"{encoded.psnr:.2f} dB in {got} bytes"
        verdict = "met" if self.met else "NOT met"
        return (
            f"target {self.target.asked}: reached {reached}, {encoded.quantized.n} Gaussians ({verdict}; "
            f"{self.fits} fit{'s' * (self.fits != 1)}, {len(self.trials)} files tried)"
        )


def importance(result: FitResult) -> np.ndarray:
    """How much each Gaussian adds to the picture: colour energy times footprint (times opacity)."""
    g = result.gaussians
    footprint = np.abs(g.chol[:, 0] * g.chol[:, 2])
    return (g.colors.astype(np.float64) ** 2).sum(axis=1) * footprint * g.opacities


class _Search:
    """Fits and candidate files of one search, remembered so that no count is measured twice."""

    def __init__(self, image: np.ndarray, cfg: FitConfig, progress: Progress | None, pack_options: dict) -> None:
        self.image, self.cfg, self.progress, self.options = image, cfg, progress, pack_options
        self.fits = 0
        self.trials: list[Trial] = []
        self.cache: dict[int, Encoded] = {}
        self.max_count = int(min(2_000_000, image.shape[0] * image.shape[1]))

    def fit(self, count: int) -> FitResult:
        self.fits += 1
        # The search makes its own count cuts: rate-distortion pruning would move the count under it.
        cfg = dataclasses.replace(self.cfg, count=int(min(max(count, 1), self.max_count)), rd_prune=False)
        result = fit_picture(self.image, cfg, self.progress)
        self.cache = {}
        self.order = np.argsort(-importance(result), kind="stable")
        self.result = result
        return result

    def at(self, count: int) -> Encoded:
        """The file of the ``count`` most important Gaussians of the current fit."""
        n = len(self.result.gaussians)
        count = int(min(max(count, 1), n))
        if count not in self.cache:
            result = self.result
            if count < n:
                kept = result.gaussians.take(np.sort(self.order[:count]))
                result = dataclasses.replace(result, gaussians=kept, quantized=None, fitted=None)
            encoded = pack_fit(result, self.image, **self.options)
            self.cache[count] = encoded
            self.trials.append(Trial(count, n, len(encoded.data), float(encoded.psnr)))
        return self.cache[count]

    def report(self, target: Target, encoded: Encoded) -> Encoded:
        summary = TargetReport(target, target.met_by(encoded), self.fits, tuple(self.trials))
        return dataclasses.replace(encoded, fit=self.result, target=summary)


def _first_count(target: Target, cfg: FitConfig, image: np.ndarray) -> int:
    if target.kind == "size":
        per = BYTES_PER_GAUSSIAN.get(cfg.scheme, 6.0)
        return max(1, round(OVERSHOOT * (target.value - BASE_BYTES) / per))
    from lgi_studio.core.count import adaptive_count

    return round(adaptive_count(image) * 2 ** ((target.value - 30.0) / DB_PER_DOUBLING))  # the rule aims at 30 dB


def _size_search(search: _Search, target: Target, count: int) -> Encoded:
    aim = SIZE_AIM * target.value
    for attempt in range(MAX_FITS):
        n = len(search.fit(count).gaussians)
        whole = search.at(n)
        if target.met_by(whole):
            return whole
        needed = n * (aim - BASE_BYTES) / max(len(whole.data) - BASE_BYTES, 1)  # at this picture's rate
        last = attempt + 1 == MAX_FITS or (needed > n and n >= search.max_count)
        if last or (1.0 - PRUNE_AT_MOST) * n <= needed < n:
            return _shrink(search, target, n, whole) if len(whole.data) > target.value else whole
        count = round(OVERSHOOT * needed)
    raise AssertionError("unreachable: the last attempt returns")


def _shrink(search: _Search, target: Target, n: int, whole: Encoded) -> Encoded:
    """Kept counts between a file under the floor (or none) and one over the target, by secant steps."""
    low: tuple[int, int] = (0, BASE_BYTES)  # (count, bytes): below the window
    high = (n, len(whole.data))
    best = None
    for _ in range(MAX_TRIALS):
        if high[0] - low[0] <= 1:
            break
        slope = (high[1] - low[1]) / (high[0] - low[0])
        guess = low[0] + round((SIZE_AIM * target.value - low[1]) / max(slope, 1e-9))
        k = min(max(guess, low[0] + 1), high[0] - 1)
        encoded = search.at(k)
        size = len(encoded.data)
        if target.met_by(encoded):
            return encoded
        if size > target.value:
            high = (k, size)
        else:
            low, best = (k, size), encoded
    if best is None:
        smallest = len(search.at(1).data)
        msg = f"target {target.asked} is smaller than the smallest file this picture makes ({smallest} bytes)"
        raise ValueError(msg)
    return best


def _slope(fits: list[tuple[int, float]]) -> float:
    """dB per doubling of the count: measured between the last two fits, else ``DB_PER_DOUBLING``."""
    if len(fits) < 2 or fits[-1][0] == fits[-2][0]:
        return DB_PER_DOUBLING
    (n1, p1), (n2, p2) = fits[-2:]
    return min(max((p2 - p1) / math.log2(n2 / n1), 1.0), 6.0)


def _psnr_search(search: _Search, target: Target, count: int) -> Encoded:
    best, fits = None, []  # the smallest whole fit that reaches the target; (count, PSNR) per fit
    for attempt in range(MAX_FITS):
        n = len(search.fit(count).gaussians)
        whole = search.at(n)
        fits.append((n, whole.psnr))
        if whole.psnr >= target.value and (best is None or len(whole.data) < len(best.data)):
            best = whole
        needed = n * 2 ** ((target.value - whole.psnr) / _slope(fits))
        close = whole.psnr >= target.value and needed >= (1.0 - PRUNE_AT_MOST) * n
        if close or attempt + 1 == MAX_FITS or (needed > n and n >= search.max_count):
            break
        count = round(OVERSHOOT * needed)
    if best is None:
        return whole  # not reachable with this preset: the largest fit made
    if best is not whole:
        return best
    return _cut_to_psnr(search, target, n, round(needed))


def _cut_to_psnr(search: _Search, target: Target, n: int, guess: int) -> Encoded:
    """The fewest of the current fit's ``n`` Gaussians that still reach the target (bisection in log count)."""
    good, bad = n, 0  # the fewest known to reach the target, the most known to miss it
    if 1 <= guess < n:
        good, bad = (guess, 0) if search.at(guess).psnr >= target.value else (n, guess)
    for _ in range(MAX_TRIALS):
        if good - bad <= max(1, good // 50):
            break
        k = round(math.sqrt(good * bad)) if bad else good // 2
        if search.at(k).psnr >= target.value:
            good = k
        else:
            bad = k
    return search.at(good)


def encode_to_target(
    image: np.ndarray,
    cfg: FitConfig,
    target: Target,
    progress: Progress | None = None,
    **pack_options: Any,
) -> Encoded:
    """The file for ``target`` (see the module's docstring); ``Encoded.target`` says whether it was met."""
    search = _Search(image, cfg, progress, pack_options)
    count = min(max(_first_count(target, cfg, image), 1), search.max_count)
    run: Callable[[_Search, Target, int], Encoded] = _size_search if target.kind == "size" else _psnr_search
    return search.report(target, run(search, target, count))
