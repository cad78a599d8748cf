"""``vq``: one k-means codebook over all (normalized) parameters of a Gaussian: the LGI design's baseline."""

from __future__ import annotations

import numpy as np

from lgi_kernels import RenderMode

from ..entropy import decode_categorical, encode_categorical
from ..quantize import VectorQuantizer, auto_codebook_size
from .base import (
    CodebookUse,
    Quantized,
    Scheme,
    SchemeError,
    as_vector,
    from_vector,
    pack_floats,
    snap16,
    unpack_floats,
)


class VQScheme(Scheme):
    """One codebook over every parameter of a Gaussian (normalized per dimension)."""

    name = "vq"

    def train(self, g, mode, codebook_size, seed=0, previous=None):
        size = codebook_size or min(auto_codebook_size(len(g)), len(g))  # the automatic size fits any count
        init = previous.state["vq"].codebook if previous is not None and previous.scheme == self.name else None
        vq = VectorQuantizer.train(as_vector(g, mode), size, seed=seed, init=init)
        vq.codebook = snap16(vq.codebook)
        return {"vq": vq}

    def quantize(self, g, mode, state):
        return Quantized(
            self.name, len(g), g.native_size, mode, {"index": state["vq"].quantize(as_vector(g, mode))}, state
        )

    def dequantize(self, q):
        return from_vector(q.state["vq"].dequantize(q.symbols["index"]), q.mode, q.native_size)

    def codebooks(self, q):
        book = q.state["vq"].codebook
        return [CodebookUse(book, q.symbols["index"], slice(0, book.shape[1]))]

    def pack(self, q):
        out = bytearray()
        pack_floats(q.state["vq"].codebook, out)
        return bytes(out) + encode_categorical(q.symbols["index"])

    def unpack(self, payload, n, native_size, mode):
        cols = 9 if mode is RenderMode.ALPHA else 8
        book, pos = unpack_floats(payload, 0)
        if len(book) % cols or not len(book):
            msg = "vq codebook has the wrong size"
            raise SchemeError(msg)
        index, pos = decode_categorical(payload, pos, n)
        book = book.reshape(-1, cols)
        if len(index) != n or pos != len(payload) or (len(index) and index.max() >= len(book)):
            msg = "vq indices do not match the header"
            raise SchemeError(msg)
        vq = VectorQuantizer(book, np.zeros(cols, np.float32), np.ones(cols, np.float32))
        return Quantized(self.name, n, native_size, mode, {"index": index}, {"vq": vq})
