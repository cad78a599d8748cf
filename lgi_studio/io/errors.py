"""One error type per kind of bad input, each with a message a person can act on."""


class ImageReadError(Exception):
    """An input picture is missing, unreadable, corrupt, too large or otherwise unusable."""


class OutputWriteError(Exception):
    """An output file could not be written; nothing was left half-written."""


class LgiFormatError(Exception):
    """A .lgi file is not valid: wrong signature, corrupt, truncated, or outside our limits."""


class RenderLimitError(LgiFormatError):
    """A valid .lgi file (or a requested output size) that would cost more to render than our limits allow
    (docs/lgi-format.md, Limits): refused before anything is allocated."""
