"""Errors raised where bad input enters, so messages can name the file, the field and the fix."""

from __future__ import annotations


class VisBenchError(Exception):
    """Base class of every user-facing error; the CLI prints these without a traceback."""


class InputError(VisBenchError, ValueError):
    """A file or argument given by the user is malformed.

    The message always names where the problem is (file and field) and, where one exists, the fix.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        self.path = path
        self.field = field
        #: the message without where it is (for a caller that names the place again)
        self.message = message
        where = []
        if path is not None:
            where.append(str(path))
        if field is not None:
            where.append(f"field {field!r}")
        prefix = f"{': '.join(where)}: " if where else ""
        super().__init__(prefix + message)
