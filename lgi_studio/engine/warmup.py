"""Training the codebook slider's sizes ahead, in a thread of the engine process, so that no command ever
waits behind it.

Before, the engine trained one size between commands; a command that came meanwhile waited for the whole
k-means, quantize, pack and render of that size (32-45 s after a fit of 17,487 Gaussians, issue 16). Now a
thread trains only the quantizer states (``core.requantize.codebook_state``: scikit-learn's k-means and
NumPy, which release the GIL; no Taichi launch, which would hold it and is not made for two threads) while
the main thread keeps answering commands; the slider's own move then costs one quantize and render. A new
fit or file cancels the warm-up: the size being trained finishes in the background, the rest are skipped.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the window imports this package: no Taichi here
    from lgi_kernels import RenderMode
    from lgi_studio.core.model import Gaussians
    from lgi_studio.core.schemes import Quantized

WARM_ORDER = [256, 512, 128, 1024, 64, 2048, 32, 4096, 16]
"""The slider's sizes, the likeliest first."""
WARM_THREADS = max(1, (os.cpu_count() or 2) - 1)
"""OpenMP threads for the warm-up's k-means: all cores but one, which stays free for the commands' work."""


class CodebookWarmer:
    """One warm-up: trains the sizes that fit ``gaussians`` into ``cache`` (size -> quantizer state)."""

    def __init__(
        self, gaussians: Gaussians, mode: RenderMode, scheme: str, previous: Quantized | None, cache: dict
    ) -> None:
        self.sizes = [size for size in WARM_ORDER if size <= len(gaussians)]
        self.cache = cache
        self._args = (gaussians, mode, scheme, previous)
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._train_all, name="codebook-warmup", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> CodebookWarmer:
        self._thread.start()
        return self

    def _train_all(self) -> None:
        from threadpoolctl import threadpool_limits

        try:
            # OpenMP's thread count is per calling thread: this limits the warm-up, not the commands' work
            with threadpool_limits(limits=WARM_THREADS, user_api="openmp"):
                self._train_sizes()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, which reports it
            self.error = exc

    def _train_sizes(self) -> None:
        from lgi_studio.core.requantize import codebook_state

        gaussians, mode, scheme, previous = self._args
        for size in self.sizes:
            if self._cancelled.is_set():
                return
            if size not in self.cache:
                state = codebook_state(gaussians, mode, size, scheme, previous)
                self.cache.setdefault(size, state)  # a slider move may have trained it meanwhile

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Skip the sizes not yet started; the one in training finishes on its own (k-means has no stop)."""
        self._cancelled.set()
