"""The errors of a corrupt input file: numpy-free, so that the command line can catch them
without importing the vectorised decoders."""

from __future__ import annotations

from coverage_collector.exceptions import CovDataError


class MetaDecodeError(CovDataError):
    """A meta-data file is corrupt or truncated; `path` names it (covdata's messages
    are worded from it, see `covdata.gowording`)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class CounterDecodeError(CovDataError):
    """A counter data file is corrupt or truncated; `path` names it (covdata's messages
    are worded from it, see `covdata.gowording`)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path
