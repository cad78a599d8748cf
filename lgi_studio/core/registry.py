"""The quantization schemes, in one table: name, class, file id, and whether a codebook size means anything.

Every other table derives from this one: the names the CLI and the GUI offer (``scheme_names``), the
classes ``schemes.get_scheme`` builds, the scheme ids the ``.lgi`` header stores (``io.lgi_format``),
which schemes take ``codebook_size`` (the GUI's codebook box, ``FitConfig``'s check), and which record the
lgi family's quantization steps (``lgi info``). It imports nothing heavy: the GUI lists names from it
before any kernel starts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemeEntry:
    """What the rest of the program knows about one scheme."""

    name: str
    class_name: str  # the class in ``core.schemes``
    file_id: int  # the IHDR byte; never reuse one
    sized_codebook: bool  # does ``codebook_size`` change what is stored?
    lgi_steps: bool  # quantized on the lgi family's grids (steps in the header)


REGISTRY: dict[str, SchemeEntry] = {
    entry.name: entry
    for entry in (
        SchemeEntry("lgi-sq", "LgiScalarColourScheme", 4, sized_codebook=False, lgi_steps=True),
        SchemeEntry("lgi", "LgiScheme", 3, sized_codebook=True, lgi_steps=True),
        SchemeEntry("gaussianimage", "GaussianImageScheme", 2, sized_codebook=False, lgi_steps=False),
        SchemeEntry("vq", "VQScheme", 1, sized_codebook=True, lgi_steps=False),
        SchemeEntry("float32", "Float32Scheme", 0, sized_codebook=False, lgi_steps=False),
    )
}
"""In the order the CLI and the GUI offer them; the first is the default."""

SCHEMES = tuple(REGISTRY)
DEFAULT_SCHEME = SCHEMES[0]
SIZED_CODEBOOK = frozenset(name for name, entry in REGISTRY.items() if entry.sized_codebook)
SCHEME_IDS = {name: entry.file_id for name, entry in REGISTRY.items()}
LGI_FAMILY = frozenset(name for name, entry in REGISTRY.items() if entry.lgi_steps)


def codebook_problem(scheme: str, codebook_size: int | None) -> str | None:
    """Why ``codebook_size`` cannot be given with ``scheme`` (None when it can, or when none is given)."""
    if codebook_size is None or scheme not in REGISTRY or REGISTRY[scheme].sized_codebook:
        return None
    sized = " and ".join(sorted(SIZED_CODEBOOK))
    return f"scheme {scheme} has no codebook size to set (got codebook size {codebook_size}); only {sized} take one"
