"""The error hierarchy: every failure a user can cause has a clear one-line message.

CollectorError            base; carries `message` and an optional `hint`
 +-- UsageError           bad command-line input
 +-- CovDataError         a Go coverage file is corrupt, truncated or inconsistent
 +-- DataError            the collection directory or database is unusable
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error that is shown to the user as a message, not a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(CollectorError):
    """The command line asks for something that cannot be done."""


class CovDataError(CollectorError):
    """A covmeta/covcounters file cannot be decoded, or files disagree."""


class DataError(CollectorError):
    """The collection directory or one of its files is unusable."""
