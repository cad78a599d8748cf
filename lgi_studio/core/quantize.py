"""Quantizer building blocks: scalar quantizers, k-means vector quantizers, residual stages.

Vector quantization trains its codebook with scikit-learn's KMeans (k-means++ seeding, Lloyd iterations run
to convergence at ``tol``); above ``MINIBATCH_ABOVE`` vectors MiniBatchKMeans gives the same distortion far
faster. Every dimension is normalized (zero mean, unit variance) before clustering so that no attribute
dominates the distance merely by its units.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

MIN_CODEBOOK = 2
MAX_CODEBOOK = 4096
KMEANS_TOL = 1e-6
"""Relative tolerance at which Lloyd iterations count as converged (scikit-learn's ``tol``)."""
MINIBATCH_ABOVE = 200_000


def auto_codebook_size(n_gaussians: int) -> int:
    """The LGI design's rule: 128 entries below 500 Gaussians, 256 for 500-2000, 512 above."""
    if n_gaussians < 500:
        return 128
    return 256 if n_gaussians <= 2000 else 512


def check_codebook_size(size: int, n_vectors: int) -> None:
    """Refuse sizes a codebook cannot have, with a message that says why."""
    if not MIN_CODEBOOK <= size <= MAX_CODEBOOK:
        msg = f"codebook size must be between {MIN_CODEBOOK} and {MAX_CODEBOOK}, got {size}"
        raise ValueError(msg)
    if size > n_vectors:
        msg = f"codebook size {size} is larger than the number of Gaussians ({n_vectors})"
        raise ValueError(msg)


@dataclass(frozen=True)
class ScalarQuantizer:
    """Uniform quantizer on [lo, hi] with 2**bits levels (the fitted scale/offset of GaussianImage)."""

    lo: np.ndarray  # [D]
    hi: np.ndarray  # [D]
    bits: int

    @classmethod
    def fit(cls, values: np.ndarray, bits: int) -> ScalarQuantizer:
        """Range from the data per dimension (``values`` is [N, D])."""
        lo = values.min(axis=0).astype(np.float32)
        hi = values.max(axis=0).astype(np.float32)
        return cls(lo, np.maximum(hi, lo + 1e-12).astype(np.float32), bits)

    @property
    def levels(self) -> int:
        return 2**self.bits

    def quantize(self, values: np.ndarray) -> np.ndarray:
        step = (self.hi - self.lo) / (self.levels - 1)
        return np.clip(np.round((values - self.lo) / step), 0, self.levels - 1).astype(np.int32)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        step = (self.hi - self.lo) / (self.levels - 1)
        return (self.lo + codes * step).astype(np.float32)


@dataclass
class VectorQuantizer:
    """A k-means codebook over normalized vectors.

    Attributes
    ----------
    codebook : [K, D] float32, in the original (unnormalized) units
    scale, offset : [D], the normalization used for clustering (x_norm = (x - offset) / scale)
    """

    codebook: np.ndarray
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def train(
        cls,
        vectors: np.ndarray,
        size: int,
        seed: int = 0,
        init: np.ndarray | None = None,
        max_iter: int = 300,
        tol: float = KMEANS_TOL,
    ) -> VectorQuantizer:
        """k-means++ (or ``init``, a previous codebook, to warm-start) then Lloyd to convergence at ``tol``
        (or ``max_iter`` iterations: interactive callers cap it)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        check_codebook_size(size, len(vectors))
        offset = vectors.mean(axis=0)
        scale = np.maximum(vectors.std(axis=0), 1e-12)
        normed = (vectors - offset) / scale
        if init is not None and len(init) == size:
            start = (np.asarray(init, dtype=np.float64) - offset) / scale
            model = _kmeans(len(vectors), size, seed, start, max_iter, tol)
        else:
            model = _kmeans(len(vectors), size, seed, "k-means++", max_iter, tol)
        with warnings.catch_warnings():
            # duplicate points leave fewer distinct clusters than asked: fine, the spare entries go unused
            warnings.simplefilter("ignore", _convergence_warning())
            model.fit(normed)
        codebook = model.cluster_centers_ * scale + offset
        return cls(codebook.astype(np.float32), offset.astype(np.float32), scale.astype(np.float32))

    @property
    def size(self) -> int:
        return len(self.codebook)

    @property
    def index_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.size)))

    def quantize(self, vectors: np.ndarray) -> np.ndarray:
        """Index of the nearest entry (in the normalized space) for each vector, ``[N]`` int32."""
        from scipy.spatial import cKDTree  # here, not at import: the GUI process lists schemes only

        normed = (np.asarray(vectors, np.float64) - self.offset) / self.scale
        book = (self.codebook.astype(np.float64) - self.offset) / self.scale
        # a k-d tree over the entries: no N x K distance matrix (10k x 4096 was 160 MB and 140 ms)
        _, index = cKDTree(book).query(normed)
        return np.asarray(index, dtype=np.int32).reshape(len(normed))

    def dequantize(self, indices: np.ndarray) -> np.ndarray:
        return self.codebook[indices]

    def distortion(self, vectors: np.ndarray) -> float:
        """Mean squared error of the round trip, in original units."""
        return float(np.mean((self.dequantize(self.quantize(vectors)) - vectors) ** 2))


def _convergence_warning() -> type[Warning]:
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


def _kmeans(n: int, size: int, seed: int, init, max_iter: int, tol: float):
    # imported here: scikit-learn takes ~1 s to import, and the GUI process only needs scheme names
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if n > MINIBATCH_ABOVE:
        return MiniBatchKMeans(size, init=init, n_init=1, random_state=seed, batch_size=4096, max_iter=max_iter)
    return KMeans(size, init=init, n_init=1, random_state=seed, tol=tol, max_iter=max_iter)


@dataclass
class ResidualVectorQuantizer:
    """Stages of vector quantizers, each coding what the previous ones left (the residual)."""

    stages: list[VectorQuantizer]

    @classmethod
    def train(
        cls, vectors: np.ndarray, sizes: list[int], seed: int = 0, init: ResidualVectorQuantizer | None = None
    ) -> ResidualVectorQuantizer:
        residual = np.asarray(vectors, dtype=np.float32)
        stages = []
        for k, size in enumerate(sizes):
            start = init.stages[k].codebook if init is not None and k < len(init.stages) else None
            stage = VectorQuantizer.train(residual, size, seed=seed + k, init=start)
            residual = residual - stage.dequantize(stage.quantize(residual))
            stages.append(stage)
        return cls(stages)

    def quantize(self, vectors: np.ndarray) -> np.ndarray:
        """``[N, stages]`` indices."""
        residual = np.asarray(vectors, dtype=np.float32)
        codes = []
        for stage in self.stages:
            idx = stage.quantize(residual)
            residual = residual - stage.dequantize(idx)
            codes.append(idx)
        return np.stack(codes, axis=1)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        return np.sum([s.dequantize(codes[:, k]) for k, s in enumerate(self.stages)], axis=0).astype(np.float32)
