"""One error type per kind of bad input, each with a message a person can act on."""


class ImageReadError(Exception):
    """An input picture is missing, unreadable, corrupt, too large or otherwise unusable."""


class OutputWriteError(Exception):
    """An output file could not be written; nothing was left half-written."""
